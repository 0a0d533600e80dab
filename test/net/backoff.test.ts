// Redial back-off: doubles per failure, capped, jittered, reset by a success.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Backoff } from '../../src/net/backoff.ts'
import { isLoopback, toMultiaddr } from '../../src/net/addresses.ts'

test('back-off doubles per failure up to its cap, and a success starts it over', () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0 })
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    delays.push(backoff.nextDelayMs())
    backoff.failed()
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000])
  backoff.succeeded()
  assert.equal(backoff.nextDelayMs(), 100)
})

test('jitter stays within its fraction and never passes the cap', () => {
  const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000, jitter: 0.2 })
  assert.equal(backoff.nextDelayMs(() => 0), 800)
  assert.equal(backoff.nextDelayMs(() => 1), 1_200)
  for (let i = 0; i < 40; i++) backoff.failed()
  assert.equal(backoff.nextDelayMs(() => 1), 30_000)
  assert.equal(backoff.nextDelayMs(() => 0), 24_000)
})

test('loopback addresses are recognised so peer exchange keeps them among local peers', () => {
  assert.equal(isLoopback(toMultiaddr('127.0.0.1:7070')), true)
  assert.equal(isLoopback(toMultiaddr('[::1]:7070')), true)
  assert.equal(isLoopback(toMultiaddr('192.168.1.4:7070')), false)
  assert.equal(isLoopback(toMultiaddr('example.org:7070')), false)
})
