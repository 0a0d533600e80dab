// HTTP Range requests (RFC 9110): one byte range; anything else is answered with the whole file.
export type RangeResult = { kind: 'full' } | { kind: 'partial', start: number, end: number } | { kind: 'unsatisfiable' }

export function parseRange (header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' }
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null || (match[1] === '' && match[2] === '')) return { kind: 'full' }
  let start: number
  let end: number
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return { kind: 'unsatisfiable' }
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(match[1])
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
    if (match[2] !== '' && Number(match[2]) < start) return { kind: 'full' }
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end }
}
