/**
 * PubMed XML (`PubmedArticleSet`: efetch results, "Save as XML", the annual baseline and daily update
 * files), parsed as a stream with saxes: memory stays flat however large the file. Pure.
 */
import { SaxesParser } from "saxes";
import type { LiteratureRecord } from "../library";
import { ImportFormatError, toRecord, type RawRecord } from "./records";

interface Article {
  pmid?: string;
  doi?: string;
  title: string;
  abstractParts: string[];
  journal?: string;
  year?: string;
  medlineDate?: string;
  authors: string[];
  types: string[];
}

export async function* parsePubmedXml(chunks: AsyncIterable<string>, origin?: string): AsyncGenerator<LiteratureRecord> {
  // Stryker disable next-line ObjectLiteral: these are saxes's defaults; they are spelled out for the reader
  const parser = new SaxesParser({ xmlns: false, position: true });
  const ready: LiteratureRecord[] = [];
  const path: string[] = [];
  let article: Article | undefined;
  // Stryker disable next-line StringLiteral,BooleanLiteral: each of these is set before it is read (by an opening tag); sawRoot only feeds the last, unreachable check
  let text = "";
  // Stryker disable next-line StringLiteral: as above
  let label = "";
  // Stryker disable next-line StringLiteral: as above
  let idType = "";
  // Stryker disable next-line StringLiteral: as above
  let lastName = "";
  // Stryker disable next-line StringLiteral: as above
  let initials = "";
  // Stryker disable next-line BooleanLiteral: as above
  let sawRoot = false;
  let failure: Error | undefined;

  parser.on("error", (error) => {
    failure ??= new ImportFormatError(`Not valid PubMed XML${origin ? ` (${origin})` : ""}: ${error.message}`);
  });
  // Stryker disable next-line StringLiteral: the handler does nothing; it only documents that a DOCTYPE is fine
  parser.on("doctype", () => undefined);
  parser.on("opentag", (tag) => {
    const name = tag.name;
    if (path.length === 0) {
      sawRoot = true;
      if (name !== "PubmedArticleSet" && name !== "PubmedArticle") failure ??= new ImportFormatError(`This XML is not PubMed XML: its root is <${name}>, not <PubmedArticleSet>.`);
    }
    const inline = path.includes("ArticleTitle") || path.includes("AbstractText") || path.includes("BookTitle");
    path.push(name);
    if (inline) return;
    if (name === "PubmedArticle" || name === "PubmedBookArticle") {
      article = { title: "", abstractParts: [], authors: [], types: [] };
    }
    text = "";
    // Stryker disable next-line ConditionalExpression: no other tag opens between <AbstractText> and its end (inline tags return above), and attributes are strings without xmlns
    if (name === "AbstractText") label = typeof tag.attributes.Label === "string" ? tag.attributes.Label : "";
    if (name === "ArticleId" || name === "ELocationID") idType = String(tag.attributes.IdType ?? tag.attributes.EIdType ?? "");
    if (name === "Author") lastName = initials = "";
  });
  parser.on("text", (t) => (text += t));
  parser.on("cdata", (t) => (text += t));
  parser.on("closetag", (tag) => {
    const name = tag.name;
    const parent = path[path.length - 2];
    path.pop();
    if (!article) return;
    const value = text;
    // Inline markup (<i>, <sup>) inside a title or abstract keeps adding to the same text.
    const inTitleOrAbstract = path.includes("ArticleTitle") || path.includes("AbstractText") || path.includes("BookTitle");
    if (inTitleOrAbstract) return;
    switch (name) {
      case "PMID":
        // Stryker disable next-line MethodExpression: normalisePmid allows spaces around the number
        if (parent === "MedlineCitation" || parent === "BookDocument") article.pmid ??= value.trim();
        break;
      case "ArticleTitle":
      case "BookTitle":
        if (!article.title) article.title = value;
        break;
      case "AbstractText":
        // Stryker disable next-line MethodExpression: toRecord collapses and trims whitespace
        if (path.includes("Abstract") && !path.includes("OtherAbstract")) article.abstractParts.push(label ? `${label}: ${value.trim()}` : value.trim());
        break;
      case "Title":
        if (parent === "Journal") article.journal = value;
        break;
      case "Year":
        if (path.includes("PubDate")) article.year ??= value;
        break;
      case "MedlineDate":
        if (path.includes("PubDate")) article.medlineDate ??= value;
        break;
      case "LastName":
        lastName = value.trim();
        break;
      case "Initials":
        // Stryker disable next-line MethodExpression: toRecord collapses and trims whitespace
        initials = value.trim();
        break;
      case "CollectiveName":
        lastName = value.trim();
        break;
      case "Author":
        if (lastName) article.authors.push(initials ? `${lastName} ${initials}` : lastName);
        break;
      case "PublicationType":
        article.types.push(value);
        break;
      case "ArticleId":
      case "ELocationID":
        // Stryker disable next-line MethodExpression: normaliseDoi takes the DOI out of surrounding text
        if (idType.toLowerCase() === "doi") article.doi ??= value.trim();
        break;
      case "PubmedArticle":
      case "PubmedBookArticle": {
        const raw: RawRecord = {
          pmid: article.pmid,
          doi: article.doi,
          title: article.title,
          abstract: article.abstractParts.join(" "),
          journal: article.journal,
          year: article.year ?? article.medlineDate,
          authors: article.authors,
          publicationTypes: article.types,
          origin,
        };
        const record = toRecord(raw);
        if (record) ready.push(record);
        article = undefined;
        break;
      }
    }
    // Stryker disable next-line StringLiteral: every element whose text is used resets it when it opens
    text = "";
  });

  for await (const chunk of chunks) {
    try {
      parser.write(chunk);
      // Stryker disable next-line all: saxes reports bad XML through the error handler; write() throws only if a handler does (none does)
    } catch (error) {
      // Stryker disable next-line all: unreachable, as above
      failure ??= new ImportFormatError(`Not valid PubMed XML${origin ? ` (${origin})` : ""}: ${(error as Error).message}`);
    }
    while (ready.length > 0) yield ready.shift()!;
    if (failure) throw failure;
  }
  try {
    parser.close();
    // Stryker disable next-line all: as above, for close()
  } catch (error) {
    // Stryker disable next-line all: unreachable, as above
    failure ??= new ImportFormatError(`PubMed XML ends early${origin ? ` (${origin})` : ""}: ${(error as Error).message}`);
  }
  // Stryker disable next-line ConditionalExpression: every closing tag is handled inside write(), so close() completes no article
  while (ready.length > 0) yield ready.shift()!;
  if (failure) throw failure;
  // Stryker disable next-line all: unreachable, a file without a root element already failed through the error handler
  if (!sawRoot) throw new ImportFormatError("The file holds no XML.");
}
