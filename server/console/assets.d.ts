// esbuild bundles the stylesheet imported by main.tsx into the console's .css asset.
declare module "*.css";
