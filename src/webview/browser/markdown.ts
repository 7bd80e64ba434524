/**
 * Markdown for model output in webviews (browser side): markdown-it with raw HTML off, then DOMPurify,
 * so whatever a model or a note contains renders as inert text and markup. Links are shown but never
 * navigate inside the webview; the host decides what a click on one does.
 */
import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";

const markdown = new MarkdownIt({ html: false, linkify: false, breaks: true });
// No image loads in a webview (the CSP allows none from outside, and the sanitiser drops <img>): show the
// image's markdown as text rather than dropping what the model wrote without a trace.
markdown.renderer.rules.image = (tokens, index) => {
  const token = tokens[index];
  return markdown.utils.escapeHtml(`![${token?.content ?? ""}](${token?.attrGet("src") ?? ""})`);
};

const ALLOWED_TAGS = [
  "p",
  "br",
  "strong",
  "em",
  "code",
  "pre",
  "ul",
  "ol",
  "li",
  "blockquote",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "a",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "del",
  "sup",
  "span",
];
const ALLOWED_ATTR = ["href", "title", "data-citation", "class"];

/** HTML safe to assign to innerHTML: no scripts, handlers, styles, forms, frames or remote images. */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(markdown.render(text), { ALLOWED_TAGS, ALLOWED_ATTR, ALLOW_DATA_ATTR: false });
}

/** Text for a text node: the DOM escapes it; use for names, quotes and anything not meant as markup. */
export function textNode(text: string): Text {
  return document.createTextNode(text);
}
