// Bounded concurrency: a semaphore for work pushed from many callers (Limiter), the same by count
// and bytes granted in order (Slots), and a window for a loop that starts tasks as it reads its
// input (TaskWindow); a wait bounded by a signal (settleBy).
export { Limiter } from './limiter.ts'
export { Slots } from './slots.ts'
export { TaskWindow, type WindowLimits } from './window.ts'
export { settleBy } from './deadline.ts'
