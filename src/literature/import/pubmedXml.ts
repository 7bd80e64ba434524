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
  const parser = new SaxesParser({ xmlns: false, position: true });
  const ready: LiteratureRecord[] = [];
  const path: string[] = [];
  let article: Article | undefined;
  let text = "";
  let label = "";
  let idType = "";
  let lastName = "";
  let initials = "";
  let sawRoot = false;
  let failure: Error | undefined;

  parser.on("error", (error) => {
    failure ??= new ImportFormatError(`Not valid PubMed XML${origin ? ` (${origin})` : ""}: ${error.message}`);
  });
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
        if (parent === "MedlineCitation" || parent === "BookDocument") article.pmid ??= value.trim();
        break;
      case "ArticleTitle":
      case "BookTitle":
        if (!article.title) article.title = value;
        break;
      case "AbstractText":
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
    text = "";
  });

  for await (const chunk of chunks) {
    try {
      parser.write(chunk);
    } catch (error) {
      failure ??= new ImportFormatError(`Not valid PubMed XML${origin ? ` (${origin})` : ""}: ${(error as Error).message}`);
    }
    while (ready.length > 0) yield ready.shift()!;
    if (failure) throw failure;
  }
  try {
    parser.close();
  } catch (error) {
    failure ??= new ImportFormatError(`PubMed XML ends early${origin ? ` (${origin})` : ""}: ${(error as Error).message}`);
  }
  while (ready.length > 0) yield ready.shift()!;
  if (failure) throw failure;
  if (!sawRoot) throw new ImportFormatError("The file holds no XML.");
}
