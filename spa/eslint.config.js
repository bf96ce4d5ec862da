// Lint: typescript-eslint + react-hooks, and the import boundaries of STYLE.md (bulletproof-react):
//   app -> features -> components/ui, lib.  A feature never imports another feature or app/;
//   components/ and lib/ never import features/ or app/.  Deep relative imports are refused so
//   every cross-folder import goes through the "@/" alias and is checked here.
import { readdirSync } from "node:fs";
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const features = readdirSync(new URL("./src/features", import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const noDeepRelative = { group: ["../../*"], message: "Import across folders through '@/...'." };

const boundaries = [
  {
    files: ["src/components/**", "src/lib/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            noDeepRelative,
            { group: ["@/features/*", "@/app/*"], message: "Shared code must not depend on features or app." },
          ],
        },
      ],
    },
  },
  ...features.map((name) => ({
    files: [`src/features/${name}/**`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            noDeepRelative,
            {
              group: ["@/app/*", ...features.filter((f) => f !== name).map((f) => `@/features/${f}/*`)],
              message: `features/${name} may use only itself, components/ and lib/.`,
            },
          ],
        },
      ],
    },
  })),
];

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/lib/api/schema.d.ts", "tests/contrast.js"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  { files: ["scripts/**", "*.config.*"], languageOptions: { globals: globals.node } },
  ...boundaries,
);
