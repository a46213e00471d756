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
