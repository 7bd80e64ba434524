/**
 * What the engine and features write to Bedside's log. Note text is patient data: it reaches the log only
 * through `noteText`, which shows its length unless the user switched debug logging on.
 * Pure: no vscode.
 */
export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Note text for a log line: the text itself with debug logging on, else only its size. */
  noteText(text: string): string;
}

export function describeNoteText(text: string, includeText: boolean): string {
  return includeText ? JSON.stringify(text) : `<${text.length} characters of note text hidden; turn on bedside.log.includeNoteText to see them>`;
}

/** A log that writes lines to a sink (an output channel, stderr, an array in tests). */
export class LineLog implements Log {
  constructor(
    private readonly write: (line: string) => void,
    private readonly options: { debug: () => boolean; includeNoteText: () => boolean },
  ) {}

  private line(level: string, message: string): void {
    this.write(`${new Date().toISOString()} [${level}] ${message}`);
  }
  debug(message: string): void {
    if (this.options.debug()) this.line("debug", message);
  }
  info(message: string): void {
    this.line("info", message);
  }
  warn(message: string): void {
    this.line("warn", message);
  }
  error(message: string): void {
    this.line("error", message);
  }
  noteText(text: string): string {
    return describeNoteText(text, this.options.includeNoteText());
  }
}
