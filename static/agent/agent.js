// Agent answer page: poll the query's status until it is done, then reload; give up after the
// page's bounded wait (data-wait-seconds) and tell the user to refresh later. No inline script:
// this file is loaded with `defer` so that a strict Content-Security-Policy can forbid inline code.
(function () {
  "use strict";
  var box = document.getElementById("agent-pending");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var waitMs = (parseInt(box.getAttribute("data-wait-seconds"), 10) || 90) * 1000;
  var started = Date.now();
  var delay = 700;

  function giveUp() {
    var note = box.querySelector("[data-role=gave-up]");
    if (note) { note.hidden = false; }
  }

  function poll() {
    if (Date.now() - started > waitMs) { giveUp(); return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.done) { window.location.reload(); return; }
        delay = Math.min(delay * 1.5, 4000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }

  window.setTimeout(poll, delay);
}());
