// The new-run form: a preset select that fills the fields (without JavaScript, the links do it
// by reloading), and a live count of the URLs in the textarea.
import { count } from "./fanout.js";

const data = JSON.parse(document.getElementById("preset-data").textContent);
const select = document.getElementById("preset");
const links = document.querySelector("[data-preset-links]");
const urls = document.getElementById("urls");
const counter = document.querySelector("[data-url-count]");

function countUrls() {
  const n = urls.value.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#")).length;
  counter.textContent = n === 1 ? "1 URL" : `${count(n)} URLs`;
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
countUrls();
