/**
 * The README's commands and settings reference, generated from package.json's `contributes`: `npm run
 * docs` rewrites the part between the markers, and a unit test (test/unit/scripts/readmeReference.test.ts)
 * fails when the README's copy differs from what package.json says. Pure: no vscode, no I/O.
 */

export interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

export interface ContributedSetting {
  type?: string | string[];
  default?: unknown;
  description?: string;
  markdownDescription?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  scope?: string;
}

export interface ExtensionManifest {
  contributes?: {
    commands?: ContributedCommand[];
    keybindings?: Array<{ command: string; key: string; mac?: string }>;
    configuration?: { properties?: Record<string, ContributedSetting> } | Array<{ properties?: Record<string, ContributedSetting> }>;
  };
}

export const BEGIN = "<!-- BEGIN GENERATED REFERENCE: npm run docs writes this part from package.json; do not edit by hand -->";
export const END = "<!-- END GENERATED REFERENCE -->";

/** One table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text
    .replace(/\r?\n+/g, " ")
    .replace(/\|/g, "\\|")
    .replace(/\s+/g, " ")
    .trim();
}

function formatDefault(value: unknown): string {
  if (value === undefined) return "";
  if (value === "") return "empty";
  return `\`${JSON.stringify(value)}\``;
}

export function renderCommands(manifest: ExtensionManifest): string {
  const commands = manifest.contributes?.commands ?? [];
  const keys = new Map((manifest.contributes?.keybindings ?? []).map((k) => [k.command, k.mac && k.mac !== k.key ? `${k.key} (mac: ${k.mac})` : k.key]));
  const rows = [...commands]
    .sort((a, b) => a.title.localeCompare(b.title))
    .map((c) => `| ${cell(`${c.category ? `${c.category}: ` : ""}${c.title}`)} | \`${c.command}\` | ${keys.has(c.command) ? `\`${keys.get(c.command)}\`` : ""} |`);
  return ["| command (palette) | id | keys |", "|---|---|---|", ...rows].join("\n");
}

export function renderSettings(manifest: ExtensionManifest): string {
  const configuration = manifest.contributes?.configuration;
  const blocks = Array.isArray(configuration) ? configuration : configuration ? [configuration] : [];
  const settings = blocks.flatMap((block) => Object.entries(block.properties ?? {}));
  const rows = settings
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, s]) => {
      const range = [s.minimum !== undefined ? `min ${s.minimum}` : "", s.maximum !== undefined ? `max ${s.maximum}` : ""].filter(Boolean).join(", ");
      const values = s.enum ? `One of ${s.enum.map((v) => `\`${String(v)}\``).join(", ")}.` : "";
      const description = [s.markdownDescription ?? s.description ?? "", values, range ? `(${range})` : ""].filter(Boolean).join(" ");
      return `| \`${id}\` | ${formatDefault(s.default)} | ${cell(description)} |`;
    });
  return ["| setting | default | what it does |", "|---|---|---|", ...rows].join("\n");
}

export function renderReference(manifest: ExtensionManifest): string {
  return [BEGIN, "", "### Commands", "", renderCommands(manifest), "", "### Settings", "", renderSettings(manifest), "", END].join("\n");
}

/** README with the generated part replaced; throws when the markers are missing. */
export function updateReadme(readme: string, manifest: ExtensionManifest): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no generated reference markers (${BEGIN} ... ${END}).`);
  return readme.slice(0, start) + renderReference(manifest) + readme.slice(end + END.length);
}
