#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# IRN's dense random walk (the public code's approach: a (hw)^2 affinity matrix, column-normalised,
# squared exp_times times) at VOC size, written here from its described behaviour to measure its
# peak memory on CPU, beside `pseudomask irn-labels` (docs/irn.md). Usage:
#   /usr/bin/time -f "%e s %M KB" /usr/bin/python3 scripts/bench/irn_dense_walk.py EXP_TIMES
import sys, time, math, torch
torch.set_num_threads(2)
H, W, r, beta = 94, 125, 5, 10.0
exp_times = int(sys.argv[1])
b = torch.empty(H, W)
for y in range(H):
    for x in range(W):
        wall = x % 40 == 20 or y % 30 == 15
        b[y, x] = 0.9 if wall else 0.1 * (0.5 + 0.5 * math.sin(0.3 * x + 0.2 * y))
n = H * W
t0 = time.time()
# dense affinity with the padded map (IRN pads by the radius with boundary 1) then cropped
Hp, Wp = H + r, W + 2 * r
dense_padded = torch.zeros(Hp * Wp, Hp * Wp)  # what IRN allocates before cropping
aff = dense_padded.view(Hp, Wp, Hp, Wp)[:-r, r:-r, :-r, r:-r].reshape(n, n).clone()
del dense_padded
aff.fill_diagonal_(1.0)  # values do not matter for memory; the shape and the squarings do
aff = aff.pow(beta)
trans = aff / aff.sum(0, keepdim=True)
del aff
for _ in range(exp_times):
    trans = torch.matmul(trans, trans)
x = torch.rand(3, n) * (1 - b.view(1, -1))
rw = torch.matmul(x, trans)
print(f"dense walk exp_times={exp_times}: {time.time()-t0:.1f} s, matrix {n*n*4/1e6:.0f} MB")
