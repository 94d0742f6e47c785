/** Where artifacts live; preflight asks whether the one being deployed exists. */
export interface ArtifactStore {
  exists(artifact: string): Promise<boolean>;
}
