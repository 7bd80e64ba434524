/**
 * The user's own templates: markdown files (`*.md`) in the workspace's `.bedside/templates/` folder and in a
 * user-level folder (`bedside.documents.templatesFolder`, by default `~/.bedside/templates`). A file that
 * cannot be used is reported with its reason, never silently skipped. Pure: the files are read by the caller.
 */
import { builtinTemplates } from "./builtinTemplates";
import { parseTemplate, TemplateError, type DocumentTemplate } from "./templates";

export const WORKSPACE_TEMPLATES_FOLDER = ".bedside/templates";

export interface TemplateFile {
  path: string;
  /** The file name without its extension: the title when the file gives none. */
  name: string;
  text: string;
  source: "workspace" | "user";
}

export interface TemplateChoice {
  templates: DocumentTemplate[];
  /** "path: reason" for each file that could not be read as a template. */
  problems: string[];
}

/** The built-in document types, then the workspace's templates, then the user's. */
export function allTemplates(files: readonly TemplateFile[]): TemplateChoice {
  const templates = builtinTemplates();
  const problems: string[] = [];
  for (const file of files) {
    try {
      templates.push(
        parseTemplate(
          file.text,
          file.path,
          file.source,
          file.name.replace(/[-_]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase()),
        ),
      );
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      problems.push(`${file.path}: ${error.message}`);
    }
  }
  return { templates, problems };
}
