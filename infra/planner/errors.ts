/**
 * A problem with the planner's input (stack name, config file, git ref) or with the program:
 * printed as one line, exit status 1, no stack trace.
 */
export class PlanError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PlanError";
  }
}
