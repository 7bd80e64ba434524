// Environment hygiene for the processes we start. Under `npm run` / `npx`, npm exports its own
// variables; passed on, they mislead a nested npm or VS Code.

/**
 * npm's per-run variables, which a nested npm would take as its own: npm_config_user_agent names the
 * Node that ran the outer npm (code-server's postinstall reads the Node major from it), the prefixes
 * name the outer project, nodedir its headers. Lifecycle and package variables are reset by any npm
 * that runs scripts anyway. Other npm_config_* (registry, cafile, userconfig) are kept: CI may set them.
 */
const npmRunVariables =
  /^(npm_config_(user_agent|local_prefix|prefix|global_prefix|npm_version|node_gyp|nodedir)|npm_execpath|npm_node_execpath|npm_command|npm_lifecycle_.*|npm_package_.*)$/i;

export function withoutNpmRunVariables(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (npmRunVariables.test(key) || key === "NODE" || key === "INIT_CWD") continue;
    clean[key] = value;
  }
  return clean;
}

/**
 * The environment a VS Code host should see: no npm variables at all, no NODE_OPTIONS (tsx or a
 * debugger would load into code-server too) and no VSCODE_* variables (inside a VS Code terminal,
 * VSCODE_IPC_HOOK_CLI makes code-server hand its arguments to that editor instead of starting).
 */
export function cleanHostEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VSCODE_)/i.test(key)) continue;
    if (["NODE_OPTIONS", "NODE", "INIT_CWD", "ELECTRON_RUN_AS_NODE"].includes(key)) continue;
    clean[key] = value;
  }
  return { ...clean, ...extra };
}
