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
    root.querySelectorAll(".kehu-bulk-owner").forEach(function (box) {
      box.hidden = action.value !== "assign";
    });
    const tag = root.querySelector(".kehu-bulk-tag");
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

// Order entry: choosing a product fills an empty unit price with its list price
// (when the order is in the product's currency). Runs in the capture phase, so the
// price is in place before htmx sends the change to recompute the totals.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!select.matches || !select.matches("#order-lines select[name$='-product']")) return;
    const option = select.selectedOptions[0];
    const price = select.form && select.form.elements[select.name.replace(/-product$/, "-unit_price")];
    const currency = select.form && select.form.elements.currency;
    if (!option || !option.dataset.price || !price || price.value.trim()) return;
    if (currency && option.dataset.currency !== currency.value) return;
    price.value = option.dataset.price;
  }, true);
})();

// The pipeline board: a card dragged onto another column is moved there by the
// card's own stage menu (the same htmx form a click uses), so both ways go through
// one request and one set of rules.
(function () {
  "use strict";
  let dragged = null;
  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".kehu-card[draggable=true]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id || "");
    card.classList.add("opacity-50");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("opacity-50");
    dragged = null;
    document.querySelectorAll(".kehu-column.kehu-drop").forEach(function (c) {
      c.classList.remove("kehu-drop");
    });
  });
  document.addEventListener("dragover", function (event) {
    const column = dragged && event.target.closest && event.target.closest(".kehu-column");
    if (!column || column.dataset.stage === dragged.dataset.stage) return;
    event.preventDefault();
    column.classList.add("kehu-drop");
  });
  document.addEventListener("dragleave", function (event) {
    const column = event.target.closest && event.target.closest(".kehu-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("kehu-drop");
  });
  document.addEventListener("drop", function (event) {
    const column = dragged && event.target.closest && event.target.closest(".kehu-column");
    if (!column) return;
    event.preventDefault();
    const select = dragged.querySelector("select[name=stage]");
    if (!select || column.dataset.stage === dragged.dataset.stage) return;
    select.value = column.dataset.stage;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

// Bars whose length is data-share of data-of (CSP forbids inline styles), and
// "copy link" buttons next to a read-only field (the field stays selectable for
// a long press on phones where the clipboard is not available).
(function () {
  "use strict";
  function sizeBars(root) {
    root.querySelectorAll("[data-share]").forEach(function (bar) {
      const of = Number(bar.dataset.of) || 0;
      bar.style.width = (of ? (100 * Number(bar.dataset.share)) / of : 0) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
  document.addEventListener("htmx:afterSwap", function (event) { sizeBars(event.target); });
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    const field = button.parentElement.querySelector("input");
    if (!field) return;
    field.select();
    const done = function () {
      const label = button.innerHTML;
      button.textContent = button.dataset.copied || "✓";
      setTimeout(function () { button.innerHTML = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();

// The survey builder: the choices show for single-choice questions only.
(function () {
  "use strict";
  function sync(fieldset) {
    const kind = fieldset.querySelector("select[name$='-kind']");
    if (!kind) return;
    fieldset.querySelectorAll(".kehu-choices").forEach(function (box) {
      box.hidden = kind.value !== "choice";
    });
  }
  document.addEventListener("change", function (event) {
    const fieldset = event.target.closest && event.target.closest("[data-testid=question-form]");
    if (fieldset && event.target.name && event.target.name.endsWith("-kind")) sync(fieldset);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-testid=question-form]").forEach(sync);
  });
})();

// Page code without inline handlers or styles (the CSP refuses both):
// <select data-autosubmit> submits its form when changed; <div data-width="42.5">
// (a progress bar) gets that width in percent, capped at 100.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const field = event.target;
    if (field.matches && field.matches("[data-autosubmit]") && field.form) {
      field.form.requestSubmit();
    }
  });
  function widths(root) {
    root.querySelectorAll("[data-width]").forEach(function (bar) {
      const value = Math.max(0, Math.min(100, parseFloat(bar.dataset.width) || 0));
      bar.style.width = value + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { widths(document); });
  document.addEventListener("htmx:afterSwap", function (event) { widths(event.target); });
})();
