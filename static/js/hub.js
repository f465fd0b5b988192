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

  document.addEventListener("DOMContentLoaded", function () {
    var family = document.getElementById("id_architecture_family");
    if (family) {
      showFamily(family);
      family.addEventListener("change", function () { showFamily(family); });
    }
    document.querySelectorAll("form[data-autosubmit]").forEach(autoSubmit);
  });
})();
