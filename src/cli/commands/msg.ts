// `msg send NODE_ID|--all TEXT`, `msg listen`, `msg history`: real-time messages between nodes.
import type { Command } from 'commander'
import { VaultError } from '../../errors.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { escapeControls, formatTable, printJson, printLine } from '../output.ts'
import type { MessageView as Message, SendResultView as SendResult } from '../../api/index.ts'


export function registerMsg (program: Command): void {
  const msg = program.command('msg').description('messages between nodes: send, listen, history')

  withCommon(msg.command('send'))
    .description('send TEXT to one node, or to every node with --all')
    .argument('[args...]', 'NODE_ID TEXT, or TEXT with --all')
    .option('--all', 'send to every node of the network')
    .action(async (args: string[], flags: CommonOptions & { all?: boolean }) => {
      const [to, ...words] = flags.all === true ? ['*', ...args] : args
      const text = words.join(' ')
      if (to === undefined || text === '') throw new VaultError('BAD_USAGE', 'usage: msg send NODE_ID TEXT, or msg send --all TEXT')
      const result = await (await clientFor(flags)).json<SendResult>('/api/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to, text })
      })
      if (flags.json === true) { printJson({ ...result, ...(result.delivered !== undefined ? { queued: !result.delivered } : {}) }); return }
      if (to === '*') printLine(`sent to all: delivered to ${result.deliveredTo ?? 0} node(s) now (${result.id})`)
      else if (result.delivered === true) printLine(`delivered to ${to} (${result.id})`)
      else printLine(`${to} is offline: the message is kept and will be delivered when it reconnects (${result.id})`)
    })

  withCommon(msg.command('listen'))
    .description('print messages as they arrive, until Ctrl-C')
    .action(async (flags: CommonOptions) => {
      const res = await (await clientFor(flags)).send('/api/events', { headers: { accept: 'text/event-stream' } })
      process.stderr.write('listening for messages (Ctrl-C to stop)\n')
      const events = sseEvents(res)
      for await (const event of stopsWithNode(events)) {
        if (event.type !== 'message') continue
        const m = JSON.parse(event.data) as Message
        if (flags.json === true) printJson({ id: m.id, from: m.from, to: m.to, text: m.text, at: m.at })
        else printLine(escapeControls(`${m.at.slice(11, 19)}  ${m.from}${m.to === '*' ? ' (to all)' : ''}: ${m.text}`))
      }
      throw new VaultError('NOT_RUNNING', 'the node stopped')
    })

  withCommon(msg.command('history'))
    .description('messages sent and received, oldest first')
    .option('--limit <n>', 'how many of the latest messages', '100')
    .action(async (flags: CommonOptions & { limit: string }) => {
      // The node's bounds (1 to 10,000), checked here too: a flag out of range is bad usage (exit 2).
      if (!/^\d+$/.test(flags.limit) || Number(flags.limit) < 1 || Number(flags.limit) > 10_000) throw new VaultError('BAD_USAGE', `--limit must be a number from 1 to 10000, got ${JSON.stringify(flags.limit)}`)
      const messages = await (await clientFor(flags)).json<Message[]>(`/api/messages?limit=${flags.limit}`)
      if (flags.json === true) { printJson(messages); return }
      if (messages.length === 0) { printLine('no messages yet'); return }
      printLine(formatTable(['AT', 'FROM', 'TO', 'TEXT'], messages.map(m => [m.at.slice(0, 19).replace('T', ' '), m.from, m.to === '*' ? 'all' : m.to, m.text].map(escapeControls))))
    })
}

/** Parses a Server-Sent Events stream into {type, data} events. */
async function * sseEvents (stream: AsyncIterable<Buffer | string>): AsyncGenerator<{ type: string, data: string }> {
  let buffer = ''
  for await (const part of stream) {
    buffer += part.toString()
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let type = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      if (data.length > 0) yield { type, data: data.join('\n') }
    }
  }
}

/** The event stream ends or breaks when the node stops: that is NOT_RUNNING, whatever the socket said. */
async function * stopsWithNode<T> (events: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield * events
  } catch (err) {
    throw new VaultError('NOT_RUNNING', 'the node stopped', { cause: err })
  }
}
