// The graph page: draws the neighbourhood the server embedded (#graph-data) with the vendored
// Cytoscape, and on a click on a model, dataset or licence fetches that node's neighbourhood from
// GET /api/v1/graph and merges it in. Only the hub is ever asked; nothing is inline (CSP).
(function () {
  "use strict";
  const container = document.getElementById("graph");
  const source = document.getElementById("graph-data");
  if (!container || !source || typeof window.cytoscape !== "function") return;

  const first = JSON.parse(source.textContent);
  const apiUrl = container.dataset.apiUrl;
  const status = document.getElementById("graph-status");
  const list = document.getElementById("graph-nodes");
  const panel = document.getElementById("graph-selected");
  const expanded = new Set([first.root]);
  const EXPANDABLE = new Set(["model", "dataset", "license"]);
  let last = first;

  const STYLE = [
    {
      selector: "node",
      style: {
        label: "data(label)", "font-size": 10, color: "#1d2430", "text-valign": "bottom", "text-margin-y": 4,
        "text-wrap": "ellipsis", "text-max-width": 170, width: 22, height: 22, "background-color": "#2450c8",
        "border-width": 0,
      },
    },
    { selector: "node.dataset", style: { shape: "round-rectangle", "background-color": "#178a4b" } },
    { selector: "node.license", style: { shape: "diamond", "background-color": "#7a8394" } },
    {
      selector: "node.private",
      style: { "background-color": "#fff", "border-width": 2, "border-style": "dashed", "border-color": "#9aa3b2", color: "#5b6577" },
    },
    { selector: "node.warning", style: { "border-width": 4, "border-color": "#d48a00" } },
    { selector: "node.violation", style: { "background-color": "#c62020", "border-width": 4, "border-color": "#7d0f0f" } },
    { selector: "node.root", style: { width: 34, height: 34, "font-weight": "bold" } },
    { selector: "node.expandable", style: { "overlay-opacity": 0 } },
    { selector: "node:selected", style: { "outline-width": 3, "outline-color": "#1a3c99", "outline-offset": 2 } },
    {
      selector: "edge",
      style: {
        width: 1.5, "line-color": "#aab2c0", "target-arrow-color": "#aab2c0", "target-arrow-shape": "triangle",
        "curve-style": "bezier", label: "data(label)", "font-size": 8, color: "#5b6577", "text-rotation": "autorotate",
        "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": 1,
      },
    },
    { selector: "edge.evaluation", style: { "line-style": "dashed", "line-color": "#6aa583", "target-arrow-color": "#6aa583" } },
    { selector: "edge.license, edge.private", style: { "line-style": "dotted" } },
    { selector: "edge.violation", style: { width: 3.5, "line-color": "#c62020", "target-arrow-color": "#c62020", color: "#9b1111" } },
  ];

  function nodeClasses(node) {
    const classes = [node.kind];
    if (node.verdict === "violation" || node.verdict === "warning") classes.push(node.verdict);
    if (node.id === first.root) classes.push("root");
    if (EXPANDABLE.has(node.kind)) classes.push("expandable");
    return classes.join(" ");
  }

  function elementsOf(answer) {
    const nodes = answer.nodes
      .filter((n) => cy === null || cy.getElementById(n.id).empty())
      .map((n) => ({ group: "nodes", data: n, classes: nodeClasses(n) }));
    const edges = answer.edges
      .filter((e) => cy === null || cy.getElementById(e.id).empty())
      .map((e) => ({ group: "edges", data: e, classes: e.kind + (e.violation ? " violation" : "") }));
    return nodes.concat(edges);
  }

  let cy = null;
  cy = window.cytoscape({
    container: container,
    elements: elementsOf(first),
    style: STYLE,
    layout: { name: "cose", animate: false, randomize: false, padding: 30, nodeRepulsion: () => 9000 },
    wheelSensitivity: 0.3,
    minZoom: 0.2,
    maxZoom: 3,
  });
  window.omhGraph = cy; // for the browser tests and the curious (devtools)

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function renderStatus() {
    let text = cy.nodes().length + " nodes, " + cy.edges().length + " links";
    if (last.truncated) {
      text += "; " + last.omitted + " more not shown (at most " + last.limit + " new nodes per expansion)";
    }
    status.textContent = text;
  }

  function renderList() {
    const items = cy.nodes().sort((a, b) => a.data("kind").localeCompare(b.data("kind")) || a.data("label").localeCompare(b.data("label")));
    list.replaceChildren(
      ...items.map((n) => {
        const data = n.data();
        const li = el("li", undefined, "kind-" + data.kind + (data.verdict === "violation" ? " violation" : ""));
        li.append(el("span", data.kind, "node-kind"));
        if (data.url) {
          const a = el("a", data.label);
          a.href = data.url;
          li.append(a);
        } else {
          li.append(document.createTextNode(data.label));
        }
        if (EXPANDABLE.has(data.kind) && !expanded.has(data.id)) {
          const button = el("button", "expand", "button small secondary");
          button.type = "button";
          button.addEventListener("click", () => expand(n));
          li.append(button);
        }
        return li;
      }),
    );
  }

  function row(table, name, value) {
    const tr = el("tr");
    tr.append(el("th", name), el("td", value));
    table.append(tr);
  }

  function showNode(node) {
    const data = node.data();
    panel.replaceChildren(el("h3", data.label));
    const table = el("table", undefined, "facts");
    row(table, "Kind", data.kind);
    if (data.verdict) row(table, "Licence check", data.verdict);
    if (data.category) row(table, "Category", data.category);
    if (data.count) row(table, "Hidden links", String(data.count));
    panel.append(table);
    if (data.url) {
      const a = el("a", "Open its page");
      a.href = data.url;
      panel.append(a);
    }
    panel.hidden = false;
  }

  function showEdge(edge) {
    const data = edge.data();
    panel.replaceChildren(el("h3", data.label));
    const table = el("table", undefined, "facts");
    row(table, "From", cy.getElementById(data.source).data("label"));
    row(table, "To", cy.getElementById(data.target).data("label"));
    for (const r of data.results || []) row(table, r.metric + " (" + r.split + ")", String(r.value));
    if (data.count > (data.results || []).length) row(table, "Results", data.count + " in all");
    if (data.violation) row(table, "Licence", "on the path of a violation");
    panel.append(table);
    panel.hidden = false;
  }

  async function expand(node) {
    const id = node.id();
    if (expanded.has(id) || !EXPANDABLE.has(node.data("kind"))) return;
    expanded.add(id);
    status.textContent = "Loading the neighbours of " + node.data("label") + "…";
    const url = apiUrl + "?asset=" + encodeURIComponent(id) + "&depth=1";
    let answer;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("the hub answered " + response.status);
      answer = await response.json();
    } catch (error) {
      expanded.delete(id);
      status.textContent = "Could not load the neighbours of " + node.data("label") + ": " + error.message;
      return;
    }
    last = answer;
    const centre = node.position();
    const added = cy.add(elementsOf(answer));
    added.nodes().forEach((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(added.nodes().length, 1);
      n.position({ x: centre.x + 120 * Math.cos(angle), y: centre.y + 120 * Math.sin(angle) });
    });
    cy.layout({ name: "cose", animate: false, randomize: false, fit: true, padding: 30, nodeRepulsion: () => 9000 }).run();
    container.dataset.expansions = String(expanded.size - 1);
    renderStatus();
    renderList();
  }

  cy.on("tap", "node", (event) => {
    showNode(event.target);
    expand(event.target);
  });
  cy.on("tap", "edge", (event) => showEdge(event.target));

  renderStatus();
  renderList();
  container.dataset.ready = "1";
})();
