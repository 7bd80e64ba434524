import type { BuildOptions, Plugin } from "esbuild";
export const pdfjsApart: Plugin;
export const pdfjsOwnNavigator: Plugin;
export const pdfjsBundleOptions: BuildOptions;
