// Renders /openapi.json (the gateway's merged OpenAPI document) as a readable reference page.
// Self-contained: no framework, no CDN, so it works offline.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function resolve(doc, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { name, schema: (doc.components.schemas || {})[name] || {} };
  }
  return { name: null, schema: schema || {} };
}

// A JSON-like outline of a schema, following references up to a few levels deep.
function outline(doc, schema, depth, seen) {
  const { name, schema: s } = resolve(doc, schema);
  if (name && (seen.has(name) || depth > 4)) return name;
  const nextSeen = name ? new Set([...seen, name]) : seen;
  if (s.oneOf || s.anyOf) {
    return (s.oneOf || s.anyOf).map((v) => outline(doc, v, depth + 1, nextSeen)).join(" | ");
  }
  const types = [].concat(s.type || []);
  if (types.includes("array")) return "[" + outline(doc, s.items, depth + 1, nextSeen) + "]";
  if (s.properties) {
    const required = new Set(s.required || []);
    const pad = "  ".repeat(depth + 1);
    const lines = Object.entries(s.properties).map(([key, value]) => {
      const optional = required.has(key) ? "" : "?";
      return pad + key + optional + ": " + outline(doc, value, depth + 1, nextSeen);
    });
    return "{\n" + lines.join(",\n") + "\n" + "  ".repeat(depth) + "}";
  }
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const format = s.format ? " (" + s.format + ")" : "";
  return (types.filter((t) => t !== "null").join(" | ") || name || "any") + format + (types.includes("null") ? " | null" : "");
}

function parameters(op) {
  if (!op.parameters || op.parameters.length === 0) return null;
  return el("table", {},
    el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "required"), el("th", {}, "description")),
    op.parameters.map((p) => el("tr", {},
      el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, p.required ? "yes" : "no"),
      el("td", {}, p.description || ""))));
}

function operation(doc, path, method, op) {
  const secured = op.security === undefined ? (doc.security || []).length > 0 : op.security.some((r) => Object.keys(r).length > 0);
  const body = el("div", { class: "body" });
  if (op.description) body.append(el("p", {}, op.description));
  const params = parameters(op);
  if (params) body.append(el("h4", {}, "Parameters"), params);
  if (op.requestBody) {
    const content = op.requestBody.content || {};
    const [type, media] = Object.entries(content)[0] || ["", {}];
    body.append(el("h4", {}, "Request body ", el("code", {}, type)), el("pre", {}, outline(doc, media.schema, 0, new Set())));
  }
  body.append(el("h4", {}, "Responses"));
  const rows = Object.entries(op.responses || {}).map(([status, response]) => {
    const content = response.content || {};
    const [type, media] = Object.entries(content)[0] || [null, null];
    return el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, response.description || ""),
      el("td", {}, type ? el("pre", {}, type + "\n" + outline(doc, media.schema, 0, new Set())) : "no body"));
  });
  body.append(el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "meaning"), el("th", {}, "body")), rows));
  return el("details", { class: "op", "data-operation": method.toUpperCase() + " " + path },
    el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), el("span", { class: "path" }, path),
      el("span", { class: "summary" }, op.summary || ""), secured ? el("span", { class: "lock" }, "bearer token") : null),
    body);
}

async function main() {
  const content = document.getElementById("content");
  try {
    const response = await fetch("/openapi.json");
    if (!response.ok) throw new Error("GET /openapi.json answered " + response.status);
    const doc = await response.json();
    document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
    document.getElementById("description").textContent = doc.info.description || "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        const tag = (item[method].tags || ["other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(doc, path, method, item[method]));
      }
    }
    const tags = new Map((doc.tags || []).map((t) => [t.name, t.description || ""]));
    content.replaceChildren();
    for (const [tag, operations] of byTag) {
      content.append(el("h2", {}, tag), ...(tags.get(tag) ? [el("p", {}, tags.get(tag))] : []), ...operations);
    }
    document.body.setAttribute("data-rendered", String(content.querySelectorAll("details.op").length));
  } catch (error) {
    document.getElementById("error").textContent = "Cannot show the API: " + error.message;
  }
}

main();
