/**
 * llama.cpp's own tools (llama-server, llama-bench), built once from the llama.cpp source that
 * node-llama-cpp ships (a git bundle inside the package), so tests and benchmarks compare Bedside with
 * the exact same llama.cpp. Cached under .cache/llama.cpp/ by commit; ~6 minutes cold on 2 cores.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..", "..");
const bundle = join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
const cacheDir = join(root, ".cache", "llama.cpp");

export interface LlamaCppTools {
  server: string;
  bench: string;
  commit: string;
}

function run(command: string, args: string[], cwd?: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
}

export function ensureLlamaCppTools(log: (line: string) => void = (l) => console.error(l)): LlamaCppTools {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm ci first`);
  const commit = execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" }).split(/\s/)[0]!.slice(0, 12);
  const src = join(cacheDir, `src-${commit}`);
  const build = join(cacheDir, `build-${commit}`);
  const tools: LlamaCppTools = { server: join(build, "bin", "llama-server"), bench: join(build, "bin", "llama-bench"), commit };
  const marker = join(build, "bedside-built.json");
  if (existsSync(marker) && existsSync(tools.server) && existsSync(tools.bench)) return tools;

  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(join(src, "CMakeLists.txt"))) {
    log(`llama.cpp: cloning ${commit} from node-llama-cpp's bundle…`);
    run("git", ["clone", "--quiet", bundle, src]);
  }
  log("llama.cpp: configuring (cmake)…");
  run("cmake", ["-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DBUILD_SHARED_LIBS=OFF"]);
  const jobs = String(Math.max(1, Math.min(cpus().length, 4)));
  log(`llama.cpp: building llama-server and llama-bench with ${jobs} jobs (several minutes, once)…`);
  run("cmake", ["--build", build, "--config", "Release", "-j", jobs, "--target", "llama-server", "llama-bench"]);
  writeFileSync(marker, JSON.stringify({ commit, builtAt: new Date().toISOString() }));
  return tools;
}

export function llamaCppToolsBuilt(): boolean {
  try {
    const commit = execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" }).split(/\s/)[0]!.slice(0, 12);
    return existsSync(join(cacheDir, `build-${commit}`, "bedside-built.json")) && readFileSync(join(cacheDir, `build-${commit}`, "bedside-built.json")).length > 0;
  } catch {
    return false;
  }
}

if (require.main === module) {
  console.log(JSON.stringify(ensureLlamaCppTools()));
}
