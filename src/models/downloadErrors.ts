/** How a model download failed, in words that say what to do. Pure. */
export type DownloadErrorKind = "cancelled" | "network" | "http" | "noSpace" | "checksum" | "invalidFile";

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

export function cancelled(): DownloadError {
  return new DownloadError("cancelled", "Download cancelled. What was downloaded is kept; run Download Model again to continue where it stopped.");
}
