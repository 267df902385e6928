/**
 * The listener tests' `test`: vitest's, with a devnet and a database as fixtures. Both are
 * file-scoped: started for the first test of a file that asks for them, shared by the file's
 * tests after it, and stopped or dropped once its last test has run. A test that needs a
 * database nobody else has written to asks for `freshDatabase`, made for it and dropped after it.
 *
 * A file that needs a different devnet overrides the fixture at its top level (a file fixture
 * cannot be overridden inside a `describe`):
 *
 *     test.override("chain", chainFixture({ chainId: 97 }));
 *
 * and a file that puts something in front of them (a proxy, a faulty node) extends `test` with a
 * file fixture of its own that takes `chain` or `database` from its first parameter.
 */
import type { DevnetOptions } from "@paimon/contracts/devnet";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { test as base } from "vitest";
import { startChain, type Chain } from "./testing";

/** What a fixture function gets besides the fixtures it depends on. */
interface FixtureHooks {
  readonly onCleanup: (cleanup: () => Promise<void>) => void;
}

/**
 * A devnet with the fund deployed (see `startChain`), stopped on cleanup. The first parameter is
 * an empty object pattern because vitest reads a fixture's dependencies from that pattern (and
 * rejects any other kind of parameter): this one depends on none.
 */
export const chainFixture =
  (options: DevnetOptions = {}) =>
  // eslint-disable-next-line no-empty-pattern -- vitest requires an object pattern; this fixture has no dependencies
  async ({}: object, { onCleanup }: FixtureHooks): Promise<Chain> => {
    const chain = await startChain(options);
    onCleanup(() => chain.stop());
    return chain;
  };

/** A new migrated database (see `createTestDatabase`), dropped on cleanup. */
export const databaseFixture =
  () =>
  // eslint-disable-next-line no-empty-pattern -- vitest requires an object pattern; this fixture has no dependencies
  async ({}: object, { onCleanup }: FixtureHooks): Promise<TestDatabase> => {
    const database = await createTestDatabase();
    onCleanup(() => database.drop());
    return database;
  };

export const test = base
  .extend("chain", { scope: "file" }, chainFixture())
  .extend("database", { scope: "file" }, databaseFixture())
  .extend("freshDatabase", databaseFixture());
