// Type-ahead for the header search box (templates/base.html): suggestions from /api/v1/search/suggest/
// as you type, a WAI-ARIA combobox. ArrowDown/ArrowUp move through them, Enter opens the highlighted
// one (or searches for the text when none is), Escape closes the list. No inline script (CSP).
(function () {
  "use strict";
  const input = document.getElementById("top-q");
  const list = document.getElementById("top-q-list");
  if (!input || !list || !input.dataset.suggestUrl) return;
  const GROUPS = [["models", "Models", (item) => "/models/" + item.id + "/"],
                  ["datasets", "Datasets", (item) => "/datasets/" + item.id + "/"],
                  ["users", "Users", (item) => "/models/?owner=" + encodeURIComponent(item.username)]];
  let active = -1, timer = null, latest = 0;

  function options() { return Array.from(list.querySelectorAll("[role=option]")); }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    const items = options();
    if (!items.length) return;
    active = (index + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", i === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function render(data) {
    list.replaceChildren();
    let count = 0;
    for (const [key, title, href] of GROUPS) {
      const items = data[key] || [];
      if (!items.length) continue;
      const heading = document.createElement("li");
      heading.className = "group";
      heading.setAttribute("role", "presentation");
      heading.textContent = title;
      list.append(heading);
      for (const item of items) {
        const option = document.createElement("li");
        option.id = "top-q-option-" + count++;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.href = href(item);
        option.textContent = item.id || item.username;
        option.addEventListener("mousedown", (event) => { event.preventDefault(); window.location.assign(option.dataset.href); });
        list.append(option);
      }
    }
    active = -1;
    list.hidden = count === 0;
    input.setAttribute("aria-expanded", count ? "true" : "false");
  }

  async function fetchSuggestions(text) {
    const ticket = ++latest;
    try {
      const response = await fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok || ticket !== latest) return;
      render(await response.json());
    } catch (error) {
      close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) { latest++; close(); return; }
    timer = setTimeout(() => fetchSuggestions(text), 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); if (!list.hidden) highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); if (!list.hidden) highlight(active - 1); }
    else if (event.key === "Escape") {
      if (!list.hidden) event.preventDefault();  // closes the list; a second Escape clears the box as usual
      close();
    }
    else if (event.key === "Enter" && active >= 0 && !list.hidden) {
      event.preventDefault();
      window.location.assign(options()[active].dataset.href);
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
})();
