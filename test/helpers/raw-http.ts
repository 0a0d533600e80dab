// HTTP/1.1 by hand over a real socket, for tests that must send exact bytes (odd request lines,
// missing or doubled Host headers) that fetch() would normalise or refuse to send.
import { connect } from 'node:net'

export interface RawResponse { status: number, headers: Record<string, string>, body: string }

/**
 * Sends `request` (the whole request, CRLFs included) and resolves with the response's status,
 * headers and body. Stops at the end of the headers for HEAD and 2xx answers without a length
 * (streams such as SSE), at Content-Length otherwise, or when the server closes.
 */
export async function rawRequest (port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let data = Buffer.alloc(0)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no complete answer in ${timeoutMs} ms to ${String(request).split('\r\n')[0]}`)) }, timeoutMs)
    const finish = (): boolean => {
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) return false
      const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(statusLine.split(' ')[1])
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const at = line.indexOf(':')
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim()
      }
      const body = data.subarray(end + 4)
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
      const head = String(request).startsWith('HEAD ')
      if (!head && length !== undefined && body.length < length) return false
      if (!head && length === undefined && !(status >= 200 && status < 300) && !socket.closed) return false
      clearTimeout(timer)
      socket.destroy()
      resolve({ status, headers, body: body.toString('utf8') })
      return true
    }
    socket.on('data', (d: Buffer) => { data = Buffer.concat([data, d]); finish() })
    socket.on('close', () => {
      if (finish()) return
      clearTimeout(timer)
      if (data.length === 0) resolve({ status: 0, headers: {}, body: '' }) // closed without an answer
      else reject(new Error(`incomplete answer: ${data.toString('latin1').slice(0, 200)}`))
    })
    socket.on('error', () => {})
  })
}
