import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionAction, VoteAnswer } from './election-actions.js';
import { FRESH_ELECTION_STATE, type ElectionState } from './election-state.js';
import { Election } from './election.js';
import { Prng } from './prng.js';
import type { VoteRequest } from './vote.js';

/**
 * Elections of 3 and 5 nodes wired by a message queue in the test, driven by a seeded PRNG: a
 * chaotic phase (messages dropped, duplicated and delayed up to an election timeout, nodes
 * crashing - sometimes between a persist and the sends after it - and restarting from what they
 * persisted), then a calm one (every message delivered within T/5). Checked at every step: at
 * most one master per epoch (F2), no node's epoch ever goes down (so every change was persisted
 * before it was acted on), and at the end of the calm phase one master followed by every node.
 */

const T = 100;
const HEARTBEAT_MS = T / 3;
const SEEDS = 200;
const CHAOS_STEPS = 300;
const CALM_STEPS = 400;

type Body =
  | { readonly type: 'vote-request'; readonly request: VoteRequest }
  | { readonly type: 'vote-answer'; readonly answer: VoteAnswer }
  | {
      readonly type: 'heartbeat';
      readonly epoch: number;
      readonly lastId: number;
      readonly sentAtMs: number;
    }
  | { readonly type: 'reply'; readonly epoch: number; readonly sentAtMs: number };

interface Message {
  readonly deliverAtMs: number;
  readonly seq: number;
  readonly from: string;
  readonly to: string;
  readonly body: Body;
}

interface SimNode {
  readonly name: string;
  election: Election | undefined;
  stored: ElectionState;
  lastId: number;
  highestEpoch: number;
  lastHeartbeatMs: number;
}

class World {
  readonly nodes: SimNode[];
  readonly #prng: Prng;
  readonly #names: string[];
  #queue: Message[] = [];
  #seq = 0;
  nowMs = 0;
  chaos = true;
  /** The master of each epoch, as first seen: a second name in one epoch breaks F2. */
  readonly mastersByEpoch = new Map<number, string>();

  constructor(
    readonly seed: number,
    size: number,
  ) {
    this.#prng = new Prng(seed);
    this.#names = Array.from({ length: size }, (_, i) => `n${i}`);
    this.nodes = this.#names.map((name) => ({
      name,
      election: undefined,
      stored: FRESH_ELECTION_STATE,
      lastId: this.#prng.int(0, 3),
      highestEpoch: 0,
      lastHeartbeatMs: 0,
    }));
    for (const node of this.nodes) this.#start(node);
    if (this.#prng.chance(0.5)) this.#run(this.nodes[0]!, this.nodes[0]!.election!.bootstrap(0));
  }

  step(): void {
    this.nowMs += this.#prng.int(1, T / 5);
    this.#crashOrRestart();
    const due = this.#queue.filter((message) => message.deliverAtMs <= this.nowMs);
    this.#queue = this.#queue.filter((message) => message.deliverAtMs > this.nowMs);
    due.sort((x, y) => x.deliverAtMs - y.deliverAtMs || x.seq - y.seq);
    for (const message of due) this.#deliver(message);
    for (const node of this.nodes) {
      if (node.election !== undefined) this.#run(node, node.election.tick(this.nowMs));
    }
    for (const node of this.nodes) this.#heartbeat(node);
    this.#check();
  }

  #start(node: SimNode): void {
    const random = this.#prng.fork(this.#names.indexOf(node.name));
    node.election = new Election({
      self: node.name,
      peers: this.#names,
      electionTimeoutMs: T,
      random: () => random.float(),
      initial: node.stored,
      lastId: () => node.lastId,
      nowMs: this.nowMs,
    });
  }

  #crashOrRestart(): void {
    for (const node of this.nodes) {
      if (node.election === undefined) {
        if (!this.chaos || this.#prng.chance(0.05)) this.#start(node);
      } else if (this.chaos && this.#prng.chance(0.003)) {
        node.election = undefined;
      }
    }
  }

  #deliver(message: Message): void {
    const node = this.nodes.find((candidate) => candidate.name === message.to)!;
    const election = node.election;
    if (election === undefined) return;
    const { body, from } = message;
    if (body.type === 'vote-request') {
      this.#run(node, election.onVoteRequest(this.nowMs, body.request));
    } else if (body.type === 'vote-answer') {
      this.#run(node, election.onVoteAnswer(this.nowMs, from, body.answer));
    } else if (body.type === 'reply') {
      this.#run(node, election.onPeerReply(this.nowMs, from, body.epoch, body.sentAtMs));
    } else {
      this.#run(node, election.onMasterContact(this.nowMs, from, body.epoch), body.sentAtMs);
      if (node.election?.epoch !== body.epoch || node.election.masterName !== from) return;
      // The follower takes the master's log (the replication this test stands in for).
      node.lastId = body.lastId;
      this.#run(node, node.election.acceptMasterLog(body.epoch));
      this.#send(node.name, from, { type: 'reply', epoch: body.epoch, sentAtMs: body.sentAtMs });
    }
  }

  /**
   * Executes actions in order; a crash may strike between a persist and what follows it.
   * `answeringSentAtMs`: the send time of the heartbeat these actions answer, if any.
   */
  #run(node: SimNode, actions: readonly ElectionAction[], answeringSentAtMs = this.nowMs): void {
    for (const action of actions) {
      if (node.election === undefined) return;
      if (action.kind === 'persist') {
        node.stored = action.state;
        if (this.chaos && this.#prng.chance(0.01)) node.election = undefined;
      } else if (action.kind === 'request-vote') {
        this.#send(node.name, action.to, { type: 'vote-request', request: action.request });
      } else if (action.kind === 'answer-vote') {
        this.#send(node.name, action.to, { type: 'vote-answer', answer: action.answer });
      } else if (action.kind === 'refuse-stale') {
        const reply = { type: 'reply', epoch: action.epoch, sentAtMs: answeringSentAtMs } as const;
        this.#send(node.name, action.to, reply);
      } else if (action.to === 'master') {
        node.lastHeartbeatMs = Number.NEGATIVE_INFINITY;
      }
    }
  }

  #heartbeat(node: SimNode): void {
    const election = node.election;
    if (election?.role !== 'master') return;
    if (this.nowMs - node.lastHeartbeatMs < HEARTBEAT_MS) return;
    node.lastHeartbeatMs = this.nowMs;
    if (this.#prng.chance(0.3)) node.lastId += 1;
    for (const to of this.#names) {
      if (to === node.name) continue;
      const { epoch } = election;
      this.#send(node.name, to, {
        type: 'heartbeat',
        epoch,
        lastId: node.lastId,
        sentAtMs: this.nowMs,
      });
    }
  }

  #send(from: string, to: string, body: Body): void {
    const copies = this.chaos ? (this.#prng.chance(0.2) ? 0 : this.#prng.chance(0.05) ? 2 : 1) : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.#prng.int(1, this.chaos ? T : T / 5);
      this.#queue.push({ deliverAtMs: this.nowMs + delayMs, seq: this.#seq++, from, to, body });
    }
  }

  #check(): void {
    for (const node of this.nodes) {
      const election = node.election;
      const epoch = election?.epoch ?? node.stored.epoch;
      assert.ok(
        epoch >= node.highestEpoch,
        `seed ${this.seed}: ${node.name}'s epoch went down from ${node.highestEpoch} to ${epoch} at ${this.nowMs} ms`,
      );
      node.highestEpoch = epoch;
      if (election?.role !== 'master') continue;
      const master = this.mastersByEpoch.get(epoch) ?? node.name;
      const where = `seed ${this.seed}, ${this.nowMs} ms`;
      assert.equal(master, node.name, `${where}: two masters in epoch ${epoch} (F2)`);
      this.mastersByEpoch.set(epoch, master);
    }
    // The lease (answers counted from their requests' send times, votes held back after a
    // start): at most one master holds one at any time, delays and restarts notwithstanding.
    const leased = this.nodes.filter((node) => (node.election?.leaseEndsAtMs() ?? 0) > this.nowMs);
    assert.ok(
      leased.length <= 1,
      `seed ${this.seed}, ${this.nowMs} ms: ${leased.map((node) => `${node.name} (epoch ${node.election!.epoch})`).join(' and ')} both hold a lease`,
    );
  }
}

function settledMaster(world: World): string | undefined {
  const masters = world.nodes.filter((node) => node.election?.role === 'master');
  if (masters.length !== 1) return undefined;
  const master = masters[0]!.election!;
  const followed = world.nodes.every(
    (node) =>
      node.election?.epoch === master.epoch && node.election.masterName === masters[0]!.name,
  );
  return followed ? masters[0]!.name : undefined;
}

void describe('Election, randomized: message loss, delay, duplication, crashes', () => {
  for (const size of [3, 5]) {
    void it(`${size} nodes, ${SEEDS} seeds: one master per epoch, epochs never go down, a master in the end`, () => {
      let elections = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const world = new World(seed, size);
        for (let step = 0; step < CHAOS_STEPS; step++) world.step();
        world.chaos = false;
        let settled: string | undefined;
        for (let step = 0; step < CALM_STEPS && settled === undefined; step++) {
          world.step();
          settled = settledMaster(world);
        }
        assert.ok(
          settled !== undefined,
          `seed ${seed}: no master followed by all in the calm phase`,
        );
        elections += world.mastersByEpoch.size;
      }
      // Not a tautology: the chaotic phase must have made masters come and go.
      assert.ok(elections > 2 * SEEDS, `only ${elections} masters over ${SEEDS} seeds`);
    });
  }
});
