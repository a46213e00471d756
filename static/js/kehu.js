// Kehu CRM: small behaviours for the shell. No inline scripts (CSP).
(function () {
  "use strict";
  // Confirm dangerous actions: <button data-confirm="Really?">
  document.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    const message = submitter && submitter.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();

// Customer list: "select all on this page", and the bulk bar shows the input its
// action needs (owner or tag).
(function () {
  "use strict";
  function syncBulk(root) {
    const action = root.querySelector("#bulk-form select[name=action]");
    if (!action) return;
    const owner = root.querySelector(".kehu-bulk-owner");
    const tag = root.querySelector(".kehu-bulk-tag");
    if (owner) owner.hidden = action.value !== "assign";
    if (tag) tag.hidden = action.value === "assign";
  }
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.id === "select-all") {
      document.querySelectorAll(".kehu-row-check").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.name === "action" && target.closest("#bulk-form")) {
      syncBulk(document);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { syncBulk(document); });
  document.addEventListener("htmx:afterSwap", function () { syncBulk(document); });
})();
