import * as pulumi from "@pulumi/pulumi";
import { createMocks, type MockEnvironment } from "./mocks";

/** One resource registration as the engine would have received it. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent: string | undefined;
  readonly provider: string | undefined;
  readonly dependsOn: readonly string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  /** Input property → the URNs of the resources its value came from. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  /** Inputs as deserialized by the runtime: secrets keep their secret wrapper. */
  readonly inputs: Record<string, unknown>;
}

export interface RecordedStack {
  readonly resources: RecordedResource[];
  readonly outputs: unknown;
}

/** The parts of the gRPC RegisterResourceRequest the recorder reads. */
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (value: { getUrnsList(): string[] }, key: string) => void): void };
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}
type Callback = (error: unknown, response: { getUrn(): string } | undefined) => void;
interface RecordableMonitor {
  registerResource(request: RegisterResourceRequest, callback: Callback): Promise<void>;
}

function propertyDependencies(request: RegisterResourceRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  request.getPropertydependenciesMap().forEach((value, key) => {
    out[key] = [...value.getUrnsList()];
  });
  return out;
}

/** `dependsOn` as written: all dependencies less those implied by inputs. */
function explicitDependencies(request: RegisterResourceRequest): string[] {
  const implied = new Set<string>();
  request.getPropertydependenciesMap().forEach((value) => {
    for (const urn of value.getUrnsList()) implied.add(urn);
  });
  return request
    .getDependenciesList()
    .filter((urn) => !implied.has(urn))
    .sort();
}

/** A failure of the program itself, naming the resource that raised it when there is one. */
export class ProgramError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProgramError";
  }
}

/** Turns whatever the program threw into one line that names the failing resource. */
export function describeProgramError(error: unknown): string {
  if (pulumi.ResourceError.isInstance(error)) {
    const resource = error.resource as unknown as { __pulumiType?: string; __name?: string } | undefined;
    const where = resource?.__pulumiType ? `${resource.__pulumiType} "${resource.__name ?? "?"}"` : "a resource";
    return `${where} failed: ${error.message}`;
  }
  if (pulumi.RunError.isInstance(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Runs a Pulumi program as stack `stack` under the mock runtime and records every resource it
 * registers, with the options that matter to a reviewer. Runs once per process: the Pulumi
 * runtime's state is global.
 */
export async function recordStack(options: {
  readonly project: string;
  readonly stack: string;
  readonly config: Readonly<Record<string, string>>;
  readonly secretKeys: readonly string[];
  readonly environment: MockEnvironment;
  readonly program: () => Promise<unknown>;
}): Promise<RecordedStack> {
  pulumi.runtime.setAllConfig({ ...options.config }, [...options.secretKeys]);
  await pulumi.runtime.setMocks(createMocks(options.environment), options.project, options.stack, false);
  const monitor = pulumi.runtime.getMonitor() as unknown as RecordableMonitor;
  const resources: RecordedResource[] = [];
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) =>
    register(request, (error, response) => {
      if (!error && response) {
        resources.push({
          urn: response.getUrn(),
          type: request.getType(),
          name: request.getName(),
          custom: request.getCustom(),
          parent: request.getParent() || undefined,
          provider: request.getProvider() ? request.getProvider().split("::").slice(0, -1).join("::") : undefined,
          dependsOn: explicitDependencies(request),
          protect: request.getProtect() === true,
          retainOnDelete: request.getRetainondelete() === true,
          deleteBeforeReplace: request.getDeletebeforereplace(),
          ignoreChanges: request.getIgnorechangesList(),
          replaceOnChanges: request.getReplaceonchangesList(),
          propertyDependencies: propertyDependencies(request),
          inputs: pulumi.runtime.deserializeProperties(request.getObject()),
        });
      }
      callback(error, response);
    });

  // Errors raised inside `apply` callbacks surface as unhandled rejections, as they do under
  // the CLI; the first one becomes the run's failure instead of a crash.
  let rejectLate: (error: unknown) => void = () => undefined;
  const late = new Promise<never>((_, reject) => {
    rejectLate = reject;
  });
  const onRejection = (error: unknown) => {
    rejectLate(error);
  };
  process.on("unhandledRejection", onRejection);
  try {
    const outputs = await Promise.race([
      (async () => {
        const result = await pulumi.runtime.runInPulumiStack(options.program);
        await pulumi.runtime.disconnect();
        return result;
      })(),
      late,
    ]);
    process.off("unhandledRejection", onRejection);
    return { resources, outputs };
  } catch (error) {
    // The handler stays: a failed program leaves the runtime's own promises rejected (the stack's
    // outputs, its children's data), and the process is about to report and exit anyway.
    throw new ProgramError(describeProgramError(error), { cause: error });
  }
}
