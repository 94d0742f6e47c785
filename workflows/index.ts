// Every workflow the worker registers. Workflow code is deterministic: no I/O,
// no Node APIs, only @temporalio/workflow and pure lib/ modules.
export { deploymentWorkflow } from "./deployment/workflow";
export { driftCheckWorkflow } from "./drift/workflow";
