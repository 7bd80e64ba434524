/**
 * The last step of a model download: the size the server promised, the SHA-256 (published or recorded),
 * and the GGUF header; a file that fails any of them is deleted. Pure Node: no vscode.
 */
import { promises as fs } from "node:fs";
import { GgufFormatError, readGgufHeader } from "../engine/ggufHeader";
import { DownloadError } from "./downloadErrors";
import { discardPartial, partPath } from "./downloadResume";

export interface VerifyOptions {
  /** Lower-case hex; null/undefined: nothing to check against. */
  expectedSha256?: string | null | undefined;
  skipGgufCheck?: boolean | undefined;
}

/** Checks the partial file of `dest`; answers its size and SHA-256 (hex) when it passes. */
export async function verifyDownload(dest: string, total: number, sha256: string, options: VerifyOptions): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await fs.stat(partPath(dest))).size;
  if (bytes !== total) {
    await discardPartial(dest);
    throw new DownloadError("network", `The downloaded file has ${bytes} bytes, the server said ${total}. It was deleted; run Download Model again.`);
  }
  if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
    await discardPartial(dest);
    throw new DownloadError("checksum", `The downloaded file is damaged or not the published one: its SHA-256 is ${sha256}, expected ${options.expectedSha256}. It was deleted.`);
  }
  if (!options.skipGgufCheck) {
    try {
      await readGgufHeader(partPath(dest));
    } catch (error) {
      await discardPartial(dest);
      if (error instanceof GgufFormatError) throw new DownloadError("invalidFile", `The downloaded file is not a usable model: ${error.message} It was deleted.`);
      throw error;
    }
  }
  return { bytes, sha256 };
}
