// Fault injection for real shop processes (tests and benchmarks only), loaded
// with NODE_OPTIONS="--require <this file>":
//   SHOP_FAULT_FILE=<path>  while that file exists, every /api request is answered 500
//                           (the shop's SHOP_ERROR_RATE is read once at start and
//                           cannot change: this makes a version degrade *after* promotion)
//   SHOP_FAULT_EVERY=<n>    every n-th /api request is answered 500 — exactly 1/n errors,
//                           deterministic (SHOP_ERROR_RATE is random: at 1% traffic a
//                           canary sees too few requests for a random 5% to show reliably)
const fs = require("node:fs");
const http = require("node:http");

const file = process.env.SHOP_FAULT_FILE;
const every = Number(process.env.SHOP_FAULT_EVERY || 0);
let apiRequests = 0;
const original = http.createServer;
http.createServer = function createServer(...args) {
  const i = args.findIndex((a) => typeof a === "function");
  if ((file || every > 0) && i >= 0) {
    const handler = args[i];
    args[i] = (req, res) => {
      const api = (req.url || "").startsWith("/api/");
      if (api) apiRequests++;
      if (api && ((every > 0 && apiRequests % every === 0) || (file && fs.existsSync(file)))) {
        req.resume();
        res.writeHead(500, {
          "content-type": "application/json",
          "x-shop-version": process.env.SHIPSHAPE_VERSION || "dev",
        });
        res.end('{"error":"injected fault (SHOP_FAULT_FILE)"}');
        return;
      }
      return handler(req, res);
    };
  }
  return original.apply(this, args);
};
