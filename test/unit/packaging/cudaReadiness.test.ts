/**
 * Whether the CUDA build can run here and why not (issue 16, item 3): the verdict Show Hardware prints for
 * no driver, a driver without CUDA's runtime libraries, and the pack installed; the library search on real
 * folders; and the runtime each pack needs, read from the packages node-llama-cpp installs.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CUDA_PACK_RUNTIME, cudaSearchDirs, cudaVerdict, findCudaLibraries, type CudaFacts } from "../../../src/packaging/cudaReadiness";
import { packToOffer } from "../../../src/packaging/platforms";
import { elfNeeded } from "../../support/elfNeeded";
import { skipBecause } from "../../support/skip";

const base: CudaFacts = { packForPlatform: true, gpuSetting: "auto", nvidiaDriver: true, runtimes: [], packInstalled: false, fallbackInstalled: false };

describe("CUDA readiness: why CUDA is or is not used", () => {
  it("no driver: says there is no NVIDIA driver, offers nothing", () => {
    const v = cudaVerdict({ ...base, nvidiaDriver: false });
    assert.equal(v.usable, false);
    assert.match(v.reason, /^CUDA is not used: no NVIDIA driver was found/);
    assert.equal(v.offerPack, false);
  });

  it("a driver without CUDA's runtime libraries: names the libraries it needs, and does not offer a download that cannot load", () => {
    const v = cudaVerdict({ ...base, searched: ["/usr/lib/x86_64-linux-gnu"] });
    assert.equal(v.usable, false);
    assert.match(
      v.reason,
      /the NVIDIA driver is here, but the CUDA pack would not load: it needs CUDA 13's runtime libraries \(libcudart\.so\.13, libcublas\.so\.13, libcublasLt\.so\.13\), and none were found \(looked in \/usr\/lib\/x86_64-linux-gnu\)/,
    );
    assert.match(v.reason, /keep Vulkan, which needs only the driver/);
    assert.equal(v.offerPack, false);
    assert.equal(packToOffer("linux-x64", { nvidiaDriver: true, gpuSetting: "auto", installed: [], declined: [], cudaRuntimes: [] }), undefined, "no offer without the runtime");
    // Installed anyway (by hand): it says the installed pack cannot load.
    assert.match(cudaVerdict({ ...base, packInstalled: true }).reason, /the installed CUDA pack cannot load/);
  });

  it("a driver with CUDA 12 only: says the pack would need its CUDA 12 fallback, which Bedside does not download", () => {
    const v = cudaVerdict({ ...base, runtimes: [12] });
    assert.equal(v.offerPack, false);
    assert.match(v.reason, /CUDA 13's runtime is not here \(this machine has CUDA 12's\)/);
    assert.equal(packToOffer("linux-x64", { nvidiaDriver: true, gpuSetting: "auto", installed: [], declined: [], cudaRuntimes: [12] }), undefined);
    // With the fallback package installed beside the pack, CUDA 12 runs it.
    assert.match(cudaVerdict({ ...base, runtimes: [12], packInstalled: true, fallbackInstalled: true }).reason, /CUDA will be used when a model loads: .*CUDA 12's runtime/);
  });

  it("driver and runtime, pack not installed: offers the pack", () => {
    const v = cudaVerdict({ ...base, runtimes: [13] });
    assert.equal(v.offerPack, true);
    assert.match(v.reason, /the CUDA pack is not installed \(Bedside: Install GPU Acceleration Pack…\)/);
    assert.equal(packToOffer("linux-x64", { nvidiaDriver: true, gpuSetting: "auto", installed: [], declined: [], cudaRuntimes: [13] })?.id, "cuda");
    assert.equal(cudaVerdict({ ...base, runtimes: [13], gpuSetting: "vulkan" }).offerPack, false, "not when the user chose Vulkan");
  });

  it("pack installed: in use when the engine reports CUDA; says so when it loaded something else, or the setting says otherwise", () => {
    const ready = { ...base, runtimes: [13], packInstalled: true };
    assert.match(cudaVerdict(ready).reason, /^CUDA will be used when a model loads/);
    assert.equal(cudaVerdict({ ...ready, loadedBackend: "cuda" }).reason, "CUDA is in use (the CUDA pack on CUDA 13's runtime).");
    assert.match(cudaVerdict({ ...ready, loadedBackend: "vulkan" }).reason, /the engine loaded vulkan instead/);
    assert.match(cudaVerdict({ ...ready, gpuSetting: "cpu" }).reason, /^CUDA is not used: bedside.engine.gpu is cpu/);
  });

  it("a platform without a CUDA build says so", () => {
    assert.match(cudaVerdict({ ...base, packForPlatform: false }).reason, /no CUDA build for this platform/);
  });
});

describe("CUDA readiness: finding the libraries", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "bedside-cuda-libs-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const put = (dir: string, ...names: string[]): string => {
    const at = join(root, dir);
    mkdirSync(at, { recursive: true });
    for (const n of names) writeFileSync(join(at, n), "");
    return at;
  };

  it("finds the driver library and whole runtimes only (all three libraries of one major)", () => {
    const system = put("usr/lib", "libcuda.so.1", "libcudart.so.13", "libcublas.so.13");
    assert.deepEqual(findCudaLibraries("linux", [system], existsSync), { driverLibrary: true, runtimes: [] }, "libcublasLt.so.13 missing: no runtime");
    const toolkit = put("cuda/targets/x86_64-linux/lib", "libcublasLt.so.13", "libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12");
    assert.deepEqual(findCudaLibraries("linux", [system, toolkit], existsSync), { driverLibrary: true, runtimes: [13, 12] });
    assert.deepEqual(findCudaLibraries("linux", [put("empty")], existsSync), { driverLibrary: false, runtimes: [] });
  });

  it("looks where node-llama-cpp looks: the library path, CUDA_PATH, the system folders, the CUDA installations", () => {
    const dirs = cudaSearchDirs("linux", { LD_LIBRARY_PATH: "/opt/a:/opt/b", CUDA_PATH: "/opt/cuda" }, ["/usr/local/cuda-13.0/targets/x86_64-linux/lib"]);
    for (const d of ["/opt/a", "/opt/b", "/opt/cuda/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/local/cuda-13.0/targets/x86_64-linux/lib"]) assert.ok(dirs.includes(d), d);
  });
});

describe("CUDA readiness: what the packs link against", () => {
  const packs = join(__dirname, "..", "..", "..", "node_modules", "@node-llama-cpp");
  it(`the CUDA pack needs CUDA ${CUDA_PACK_RUNTIME.main}'s runtime and the driver; its -ext fallback CUDA ${CUDA_PACK_RUNTIME.fallback}'s (read from the installed libraries)`, function () {
    const main = join(packs, "linux-x64-cuda", "bins", "linux-x64-cuda", "libggml-cuda.so");
    const fallback = join(packs, "linux-x64-cuda-ext", "bins", "linux-x64-cuda", "fallback", "libggml-cuda.so");
    if (!existsSync(main) || !existsSync(fallback))
      return skipBecause(this, "node-llama-cpp's linux-x64 CUDA packages are not installed here (npm installs them on linux-x64 only)");
    const needs = elfNeeded(main);
    assert.ok(
      needs.includes(`libcudart.so.${CUDA_PACK_RUNTIME.main}`) && needs.includes(`libcublas.so.${CUDA_PACK_RUNTIME.main}`) && needs.includes("libcuda.so.1"),
      needs.join(", "),
    );
    const fallbackNeeds = elfNeeded(fallback);
    assert.ok(
      fallbackNeeds.includes(`libcudart.so.${CUDA_PACK_RUNTIME.fallback}`) && fallbackNeeds.includes(`libcublas.so.${CUDA_PACK_RUNTIME.fallback}`),
      fallbackNeeds.join(", "),
    );
    // Neither carries the runtime itself.
    for (const dir of [join(packs, "linux-x64-cuda", "bins", "linux-x64-cuda"), join(packs, "linux-x64-cuda-ext", "bins", "linux-x64-cuda", "fallback")]) {
      assert.equal(existsSync(join(dir, `libcudart.so.${CUDA_PACK_RUNTIME.main}`)) || existsSync(join(dir, `libcudart.so.${CUDA_PACK_RUNTIME.fallback}`)), false, dir);
    }
  });
});
