// The new-run form: a preset select that fills the fields (without JavaScript, the links do it
// by reloading), and a live count of the URLs it will send: the textarea's and the chosen
// file's, counted as the server counts them (blank lines and `#` comments skipped), in the
// server's words (GET /url-count).

const data = JSON.parse(document.getElementById("preset-data").textContent);
const select = document.getElementById("preset");
const links = document.querySelector("[data-preset-links]");
const urls = document.getElementById("urls");
const upload = document.getElementById("urls_file");
const counter = document.querySelector("[data-url-count]");
let fileUrls = 0; // URLs in the chosen file
let reading = 0; // the latest file read: an older one that ends later is dropped
let asked = 0; // the latest count asked: an older answer that comes later is dropped

function urlLines(text) {
  return text.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith("#")).length;
}

async function countUrls() {
  const file = upload?.files?.[0];
  const query = new URLSearchParams({ n: String(urlLines(urls.value) + (file ? fileUrls : 0)) });
  if (file) query.set("in_file", String(fileUrls));
  if (file) query.set("file", file.name);
  const mine = ++asked;
  const text = await fetch(`/url-count?${query}`)
    .then((response) => (response.ok ? response.text() : ""))
    .catch(() => ""); // the server away: no count, the form still submits
  if (mine === asked) counter.textContent = text;
}

async function readFile() {
  const file = upload.files[0];
  const mine = ++reading;
  fileUrls = 0;
  if (file) {
    try {
      const n = urlLines(await file.text());
      if (mine === reading) fileUrls = n;
    } catch {
      /* unreadable here: the server says what is wrong with it */
    }
  }
  if (mine === reading) countUrls();
}

select.hidden = false;
links.hidden = true;
select.addEventListener("change", () => {
  const preset = data.find((p) => p.key === select.value);
  if (!preset) return;
  urls.value = preset.urls.join("\n");
  document.getElementById("strategy").value = preset.strategy;
  document.getElementById("concurrency").value = String(preset.concurrency);
  document.getElementById("workload").value = preset.workload;
  countUrls();
});
urls.addEventListener("input", countUrls);
upload?.addEventListener("change", readFile);
if (upload?.files?.length) readFile();
else countUrls();
