// The admin console's entry (bundled by scripts/build-console.ts, served at /admin).
import "./console.css";
import { render } from "preact";
import { App } from "./app.tsx";

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
