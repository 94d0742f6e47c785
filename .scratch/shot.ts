import { chromium } from "playwright-core";
const [file, png] = process.argv.slice(2) as [string, string];
(async () => {
  const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const p = await b.newPage({ viewport: { width: 1280, height: 900 } });
  p.on("console", (m) => console.log("console", m.type(), m.text()));
  p.on("pageerror", (e) => console.log("pageerror", e.message));
  await p.goto(`file://${file}`);
  await p.waitForFunction(() => (window as any).shipshapeReport?.ready || (window as any).shipshapeReport?.error, null, { timeout: 10000 }).catch((e) => console.log(String(e)));
  console.log(await p.evaluate(() => JSON.stringify({ err: (window as any).shipshapeReport?.error, marks: (window as any).shipshapeReport?.marks })));
  await p.screenshot({ path: png, fullPage: true });
  await b.close();
})();
