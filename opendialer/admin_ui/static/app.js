// OpenDialer admin: the only script besides htmx (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return cookie("od_csrf") || (meta ? meta.content : "");
  }

  // Every htmx request that changes something carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    const token = csrfToken();
    if (token) event.detail.headers["X-CSRF-Token"] = token;
  });

  // A modal arrives as a <dialog> fragment in #modal-root: open it.
  document.addEventListener("htmx:afterSwap", function (event) {
    const dialog = event.detail.target.querySelector("dialog.modal");
    if (dialog && !dialog.open) {
      dialog.showModal();
      const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
    event.detail.target.querySelectorAll("details.menu[open]").forEach((d) => d.removeAttribute("open"));
  });

  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close]");
    if (close) {
      const dialog = close.closest("dialog");
      if (dialog) dialog.close();
    }
    // Close any open ⋮ menu when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // A closed dialog leaves the page, so the next one starts fresh.
  document.addEventListener("close", function (event) {
    if (event.target.matches && event.target.matches("dialog.modal")) event.target.remove();
  }, true);

  // A new campaign's time zone: the browser's, when the server has none better
  // (data-browser-zone) and the list has it.
  function preselectBrowserZone(root) {
    root.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
      select.removeAttribute("data-browser-zone");
      let zone = "";
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
      const option = Array.from(select.options).find((o) => o.value === zone);
      if (option) select.value = zone;
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { preselectBrowserZone(event.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { preselectBrowserZone(document); });

  // The campaign form's pacing: show only what the chosen mode uses. Elements marked
  // data-pacing-show="over_dials" serve the modes that may abandon people (their
  // option has data-over-dials), "power" that mode only. Without JavaScript all show.
  function followPacingMode(root) {
    root.querySelectorAll("select[name=pacing_mode]").forEach(function (select) {
      const option = select.options[select.selectedIndex];
      const overDials = !!(option && option.dataset.overDials);
      select.form.querySelectorAll("[data-pacing-show]").forEach(function (el) {
        const wanted = el.dataset.pacingShow;
        el.hidden = !(wanted === "over_dials" ? overDials : wanted === select.value);
      });
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { followPacingMode(event.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { followPacingMode(document); });
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=pacing_mode]")) followPacingMode(event.target.form);
  });

  // Selects marked data-autosubmit submit their form on change (items per page, filters).
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // When an upload is over, its progress bar goes away again.
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.target.closest && event.target.closest("form");
    if (!form || !form.id) return;
    const bar = document.querySelector('[data-progress-for="' + form.id + '"]');
    if (bar) { bar.hidden = true; bar.value = 0; }
  });

  // Upload progress: <progress data-progress-for="FORM_ID"> follows the form's upload.
  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = event.target.closest("form");
    if (!form || !form.id || !event.detail.lengthComputable) return;
    const bar = document.querySelector('[data-progress-for="' + form.id + '"]');
    if (bar) {
      bar.hidden = false;
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });
})();
