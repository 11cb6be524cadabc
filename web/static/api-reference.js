// The API reference: Swagger UI renders the app's own OpenAPI document (no CDN, no validator).
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: document.body.dataset.spec,
    dom_id: "#reference",
    validatorUrl: null,
    deepLinking: false,
  });
});
