// Service worker of the capture app: the app shell and assets come from the cache, so the app
// opens with no network; API calls always go to the network (the app keeps its data in IndexedDB).
const VERSION = "{{ version }}";
const CACHE = "capture-" + VERSION;
const URLS = {{ urls|safe }};
const SHELL = {{ shell|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(URLS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("capture-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  if (event.request.mode === "navigate" && url.pathname.startsWith(SHELL)) {
    // The shell: the network when it answers well (a newer version), else the cached copy
    // (no network, or a server that is down or restarting).
    const cached = () => caches.match(SHELL, { ignoreSearch: true });
    event.respondWith(fetch(event.request).then((response) => {
      if (!response.ok) return cached().then((hit) => hit || response);
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(SHELL, copy)));
      return response;
    }).catch(() => cached()));
    return;
  }
  event.respondWith(caches.match(event.request, { ignoreSearch: true }).then((hit) => hit || fetch(event.request)));
});
