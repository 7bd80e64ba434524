/**
 * Writes small, valid PDF files by hand for tests (no binary fixtures): one page per entry, each line a
 * text object in the standard Helvetica font, a correct cross-reference table, and an optional Info
 * dictionary with a Title. Pure.
 */

export interface MinimalPdfOptions {
  /** The document's Info Title (what a PDF reader shows as its title). */
  title?: string;
  /** Lines per page; an empty string leaves a blank line (a paragraph break). */
  pages: string[][];
}

/** A PDF string literal: backslash, parentheses escaped; Latin-1 only (what the standard fonts encode). */
function pdfString(text: string): string {
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

export function minimalPdf(options: MinimalPdfOptions): Buffer {
  const objects: string[] = [];
  // 1: catalog, 2: pages, 3: font, then per page: page + content stream; last: info.
  const pageIds = options.pages.map((_, i) => 4 + i * 2);
  objects[1] = `<< /Type /Catalog /Pages 2 0 R >>`;
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${pageIds.length} >>`;
  objects[3] = `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>`;
  options.pages.forEach((lines, i) => {
    const pageId = pageIds[i]!;
    let y = 760;
    const ops: string[] = [];
    for (const line of lines) {
      if (line) ops.push(`BT /F1 11 Tf 72 ${y} Td ${pdfString(line)} Tj ET`);
      y -= 14;
    }
    const stream = ops.join("\n");
    objects[pageId] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageId + 1} 0 R >>`;
    objects[pageId + 1] = `<< /Length ${Buffer.byteLength(stream, "latin1")} >>\nstream\n${stream}\nendstream`;
  });
  const infoId = objects.length;
  if (options.title !== undefined) objects[infoId] = `<< /Title ${pdfString(options.title)} /Producer (Bedside tests) >>`;

  let body = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(body, "latin1");
    body += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(body, "latin1");
  body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) body += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R${options.title !== undefined ? ` /Info ${infoId} 0 R` : ""} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}
