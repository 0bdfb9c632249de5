// Building the page's DOM from data. Every string goes in as text (textContent, attribute values), never as markup:
// model output, user and worker names, notices and errors cannot add elements or run scripts. The one exception,
// an answer's Markdown, goes through markdown.js.

/** el("button", {class: "x", onclick: fn, "aria-label": "Stop"}, "Stop", childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children (strings as text). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** A short-lived message at the bottom of the page, read out by screen readers (role=status). */
export function toast(text, level = "info") {
  const box = $("#toasts");
  const item = el("div", { class: `toast ${level}`, role: level === "error" ? "alert" : "status" }, text);
  box.append(item);
  setTimeout(() => item.remove(), level === "error" ? 8000 : 4000);
}

/** Base64 (the bridge's bytes) to a Blob, and bytes to base64. */
export function base64ToBlob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

export async function blobToBase64(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** "chat" from "KIND_CHAT", for display. */
export function kindName(kind) {
  return String(kind || "").replace(/^KIND_/, "").toLowerCase();
}
