// Every page is the same HTML shell (page.html); the path picks the module that builds it.

const PAGES = {
  "": "./search.js",
  entity: "./entity.js",
  article: "./article.js",
  dashboard: "./dashboard.js",
};

const name = location.pathname.replace(/^\/ui\/?/, "").replace(/\/$/, "");
document.body.dataset.page = name || "search";
import(PAGES[name] ?? PAGES[""]);
