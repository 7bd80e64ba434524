/**
 * Fetches an acceleration pack (one of node-llama-cpp's prebuilt binary packages, e.g. the CUDA build)
 * from an npm registry and installs it beside the node-llama-cpp the extension ships, where
 * node-llama-cpp's own loader looks for it (`<extension>/node_modules/@node-llama-cpp/<name>`).
 *
 * Only after the user said yes (the caller asks). The registry's version document names the tarball and
 * its Subresource Integrity hash (`dist.integrity`, sha512); the tarball is downloaded with the model
 * downloader (resumable, progress, disk-space check), hashed, and refused on any mismatch before a byte
 * of it is unpacked. It is unpacked into a scratch folder and moved into place in one rename, so a failed
 * or cancelled install leaves nothing half-written where node-llama-cpp looks. Pure Node: no vscode.
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { dirname, join } from "node:path";
import { downloadModelFile, type DownloadProgress } from "../models/modelDownload";
import { extractTarGz } from "./tar";

export const DEFAULT_REGISTRY = "https://registry.npmjs.org";

export interface FetchPackOptions {
  /** e.g. "@node-llama-cpp/linux-x64-cuda" */
  packageName: string;
  /** Must equal the shipped node-llama-cpp's version: node-llama-cpp ignores a binary of another version. */
  version: string;
  /** The node_modules folder node-llama-cpp resolves from (the extension's own). */
  nodeModulesDir: string;
  /** Registry base URL; default https://registry.npmjs.org. */
  registry?: string;
  /** Scratch space for the tarball (kept there when cancelled, so a retry resumes). */
  downloadDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface FetchPackResult {
  installedAt: string;
  tarballBytes: number;
  integrity: string;
  files: number;
}

export class PackError extends Error {
  constructor(
    readonly kind: "registry" | "integrity" | "archive" | "mismatch",
    message: string,
  ) {
    super(message);
    this.name = "PackError";
  }
}

interface VersionDocument {
  name?: unknown;
  version?: unknown;
  dist?: { tarball?: unknown; integrity?: unknown; shasum?: unknown };
}

/** `<registry>/@scope%2fname/<version>`: the registry's document for one version. */
export function versionDocumentUrl(registry: string, packageName: string, version: string): string {
  return `${registry.replace(/\/+$/, "")}/${packageName.replace("/", "%2f")}/${encodeURIComponent(version)}`;
}

function getJson(url: string, signal: AbortSignal | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith("https:") ? https.get : http.get;
    const request = get(url, { headers: { accept: "application/json", "user-agent": "Bedside (VS Code extension)" }, signal }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        reject(new PackError("registry", `The npm registry answered HTTP ${status} for ${new URL(url).pathname}.`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > 4 * 1024 * 1024) request.destroy(new PackError("registry", "The registry's version document is implausibly large."));
        else chunks.push(chunk);
      });
      response.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        } catch {
          reject(new PackError("registry", "The registry's answer is not JSON."));
        }
      });
      response.on("error", reject);
    });
    request.on("error", (error) => reject(error instanceof PackError ? error : new PackError("registry", `Could not reach the npm registry: ${error.message}`)));
  });
}

/** Checks a file against an SRI string ("sha512-<base64>", several allowed, space-separated). */
export async function checkIntegrity(file: string, integrity: string): Promise<boolean> {
  const wanted = integrity
    .trim()
    .split(/\s+/)
    .map((entry) => /^(sha512|sha384|sha256)-([A-Za-z0-9+/=]+)$/.exec(entry))
    .filter((m): m is RegExpExecArray => m !== null);
  if (wanted.length === 0) return false;
  // The strongest algorithm listed decides, as SRI says.
  const order = ["sha256", "sha384", "sha512"];
  const best = wanted.sort((a, b) => order.indexOf(b[1]!) - order.indexOf(a[1]!))[0]!;
  const hash = createHash(best[1]!);
  await new Promise<void>((resolve, reject) => {
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve())
      .on("error", reject);
  });
  const digest = hash.digest("base64");
  return wanted.some((m) => m[1] === best[1] && m[2] === digest);
}

/** Where node-llama-cpp will look for the package. */
export function packDir(nodeModulesDir: string, packageName: string): string {
  return join(nodeModulesDir, ...packageName.split("/"));
}

/** The installed pack's version, or undefined when it is not installed. */
export async function installedPackVersion(nodeModulesDir: string, packageName: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(join(packDir(nodeModulesDir, packageName), "package.json"), "utf8")) as { version?: unknown };
    return typeof manifest.version === "string" ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

export async function fetchAccelerationPack(options: FetchPackOptions): Promise<FetchPackResult> {
  const registry = options.registry ?? DEFAULT_REGISTRY;
  const doc = (await getJson(versionDocumentUrl(registry, options.packageName, options.version), options.signal)) as VersionDocument;
  if (doc.name !== options.packageName || doc.version !== options.version) {
    throw new PackError("mismatch", `The registry answered for ${String(doc.name)}@${String(doc.version)}, not ${options.packageName}@${options.version}.`);
  }
  const tarball = doc.dist?.tarball;
  const integrity = doc.dist?.integrity;
  if (typeof tarball !== "string" || !/^https?:\/\//.test(tarball)) throw new PackError("registry", "The registry did not name a tarball for this package.");
  if (typeof integrity !== "string" || !/sha(256|384|512)-/.test(integrity)) {
    throw new PackError("integrity", "The registry gave no sha256/384/512 integrity hash for this package, so it cannot be checked: not installed.");
  }

  const tgz = join(options.downloadDir, `${options.packageName.replace(/[@/]/g, "_")}-${options.version}.tgz`);
  const download = await downloadModelFile({ url: tarball, dest: tgz, skipGgufCheck: true, signal: options.signal, onProgress: options.onProgress });
  if (!(await checkIntegrity(tgz, integrity))) {
    await fs.rm(tgz, { force: true });
    throw new PackError("integrity", `The downloaded ${options.packageName} does not match the registry's integrity hash; it was deleted and nothing was installed.`);
  }

  const target = packDir(options.nodeModulesDir, options.packageName);
  const scratch = `${target}.installing-${process.pid}`;
  await fs.rm(scratch, { recursive: true, force: true });
  try {
    // npm tarballs hold everything under "package/".
    const files = await extractTarGz(tgz, scratch, { stripPrefix: "package/" });
    const manifest = JSON.parse(await fs.readFile(join(scratch, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
    if (manifest.name !== options.packageName || manifest.version !== options.version) {
      throw new PackError("mismatch", `The tarball holds ${String(manifest.name)}@${String(manifest.version)}, not ${options.packageName}@${options.version}.`);
    }
    await fs.mkdir(dirname(target), { recursive: true });
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(scratch, target);
    await fs.rm(tgz, { force: true });
    return { installedAt: target, tarballBytes: download.bytes, integrity, files };
  } catch (error) {
    await fs.rm(scratch, { recursive: true, force: true });
    throw error;
  }
}
