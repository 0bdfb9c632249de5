// An answer's Markdown as sanitized DOM: marked (vendor/, MIT) parses it, raw HTML in it is shown as text, and
// DOMPurify (vendor/, Apache-2.0 or MPL-2.0) removes anything unsafe that is left before it reaches the page.
import { Marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.js";

const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => escapes[c]);

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // A model's answer is Markdown, not HTML: "<img src=x onerror=...>" reads as those characters.
    html: ({ text }) => escape(text),
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Markdown source to a DocumentFragment that is safe to insert. */
export function renderMarkdown(source) {
  const html = marked.parse(String(source ?? ""), { async: false });
  return DOMPurify.sanitize(html, { RETURN_DOM_FRAGMENT: true, FORBID_TAGS: ["style", "form", "input"] });
}
