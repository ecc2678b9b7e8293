// Starts Swagger UI on /schema (admin_ui/api/schema_pages.py): a file, not an inline
// script, so the page runs under the app's Content-Security-Policy.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("swagger-container");
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    domNode: container,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
