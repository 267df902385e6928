/**
 * The planner's child process as TypeScript under tsx (`PlanRunner` "tsx"): any program module,
 * transpiled as it loads. The prebuilt bundle (bundle.ts) runs the same `serveStack`.
 */
import { serveStack } from "./run-stack";

serveStack((programModule) => import(programModule));
