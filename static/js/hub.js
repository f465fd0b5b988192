// Progressive enhancements of the server-rendered pages; every page works without this file.
(function () {
  "use strict";

  // Model form: show the details of the chosen architecture family only.
  function showFamily(select) {
    document.querySelectorAll("[data-family]").forEach(function (box) {
      box.hidden = box.getAttribute("data-family") !== select.value;
    });
  }

  // Facet sidebar: apply a facet as soon as it is ticked (the Apply button stays for keyboards).
  function autoSubmit(form) {
    form.addEventListener("change", function (event) {
      if (event.target.matches("input[type=checkbox], select[name=sort]")) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  }

  // Sections that cost more than the page itself ("Models for this dataset", "Datasets suited to this
  // model") are pages of their own; the asset page links them and loads them here, once it is shown.
  function loadSection(placeholder) {
    var url = placeholder.getAttribute("data-lazy-section");
    placeholder.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        var parsed = new DOMParser().parseFromString(html, "text/html").body.firstElementChild;
        if (parsed) { placeholder.replaceWith(parsed); }
      })
      .catch(function () { placeholder.removeAttribute("aria-busy"); });  // the link stays
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-lazy-section]").forEach(loadSection);
    var family = document.getElementById("id_architecture_family");
    if (family) {
      showFamily(family);
      family.addEventListener("change", function () { showFamily(family); });
    }
    document.querySelectorAll("form[data-autosubmit]").forEach(autoSubmit);
  });
})();
