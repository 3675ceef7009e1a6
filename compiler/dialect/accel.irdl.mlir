// IRDL definition of the `accel` dialect (pynq-accel). GENERATED from compiler/dialect/__init__.py
// by `accel-run irdl --write`; do not edit by hand.
// Verify accel IR with: iree-opt --irdl-file=compiler/dialect/accel.irdl.mlir FILE.mlir
// Each constraint value is bound once per op instance, so every operand/attribute gets its own.
irdl.dialect @accel {
  // Start of a driver program: overlay identity, DMA window and the schedule it was lowered with.
  irdl.operation @init_dma {
    %a1 = irdl.base "#builtin.string"
    %a2 = irdl.base "#builtin.string"
    %a3 = irdl.base "#builtin.integer"
    %a4 = irdl.base "#builtin.integer"
    %a5 = irdl.base "#builtin.string"
    %a6 = irdl.base "#builtin.string"
    %a7 = irdl.base "#builtin.dictionary"
    irdl.attributes {"spec" = %a1, "spec_hash" = %a2, "dma_base" = %a3, "accel_base" = %a4, "name" = %a5, "c_init" = %a6, "schedule" = %a7}
  }
  // Binds a function value (argument or constant) as a DMA operand buffer (a, b or c).
  irdl.operation @buffer {
    %t1 = irdl.base "!builtin.memref"
    %t2 = irdl.base "!builtin.tensor"
    %t3 = irdl.any_of(%t1, %t2)
    irdl.operands(value: %t3)
    %t4 = irdl.base "!builtin.memref"
    irdl.results(buffer: %t4)
    %a5 = irdl.base "#builtin.string"
    irdl.attributes {"operand" = %a5}
  }
  // An operand buffer the program creates: C of the tensor form, initialised to `fill`.
  irdl.operation @alloc {
    %t1 = irdl.base "!builtin.memref"
    irdl.results(buffer: %t1)
    %a2 = irdl.base "#builtin.string"
    %a3 = irdl.base "#builtin.integer"
    irdl.attributes {"operand" = %a2, "fill" = %a3}
  }
  // A driver scratch buffer: the command buffer (`cmd`) or a staging buffer.
  irdl.operation @scratch {
    %t1 = irdl.base "!builtin.memref"
    irdl.results(buffer: %t1)
    %a2 = irdl.base "#builtin.string"
    %a3 = irdl.base "#builtin.integer"
    irdl.attributes {"name" = %a2, "bytes" = %a3}
  }
  // MM2S command packet: the instruction words of the next `count` instruction ops.
  irdl.operation @send_literal {
    %t1 = irdl.base "!builtin.memref"
    irdl.operands(cmd: %t1)
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    %a4 = irdl.base "#builtin.integer"
    irdl.attributes {"offset" = %a2, "bytes" = %a3, "count" = %a4}
  }
  // MM2S data packet of the preceding instruction (optionally packed from an operand first).
  irdl.operation @send {
    %t1 = irdl.base "!builtin.memref"
    irdl.operands(buffer: %t1)
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    irdl.attributes {"offset" = %a2, "bytes" = %a3}
  }
  // S2MM packet of the preceding DRAIN (optionally unpacked/added into C afterwards).
  irdl.operation @recv {
    %t1 = irdl.base "!builtin.memref"
    irdl.operands(buffer: %t1)
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    irdl.attributes {"offset" = %a2, "bytes" = %a3}
  }
  // LOAD_A: keep columns [win_lo, win_lo+win_cnt) of `rows` rows of `row_len` bytes in A bank `abuf`.
  irdl.operation @load_a {
    %a1 = irdl.base "#builtin.integer"
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    %a4 = irdl.base "#builtin.integer"
    %a5 = irdl.base "#builtin.integer"
    irdl.attributes {"abuf" = %a1, "rows" = %a2, "row_len" = %a3, "win_lo" = %a4, "win_cnt" = %a5}
  }
  // STREAM_B: stream K rows of B through A bank `abuf` into accumulator bank `acc` (window of columns).
  irdl.operation @stream_b {
    %a1 = irdl.base "#builtin.integer"
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    %a4 = irdl.base "#builtin.integer"
    %a5 = irdl.base "#builtin.integer"
    %a6 = irdl.base "#builtin.integer"
    irdl.attributes {"abuf" = %a1, "acc" = %a2, "accumulate" = %a3, "row_len" = %a4, "win_lo" = %a5, "win_cnt" = %a6}
  }
  // DRAIN: emit `rows` x `win_cnt` int32 of accumulator bank `acc` as one stream packet.
  irdl.operation @drain {
    %a1 = irdl.base "#builtin.integer"
    %a2 = irdl.base "#builtin.integer"
    %a3 = irdl.base "#builtin.integer"
    irdl.attributes {"acc" = %a1, "rows" = %a2, "win_cnt" = %a3}
  }
  // Wait until every transfer of the program has completed.
  irdl.operation @wait {
  }
  // The tensor value of an operand buffer once the program has completed (tensor form).
  irdl.operation @result {
    %t1 = irdl.base "!builtin.memref"
    irdl.operands(buffer: %t1)
    %t2 = irdl.base "!builtin.tensor"
    irdl.results(value: %t2)
  }
  // A constant tensor of a model (initializer / onnx.Constant): base64 data, C order, in the weight region.
  irdl.operation @weight {
    %t1 = irdl.any
    irdl.results(value: %t1)
    %a2 = irdl.base "#builtin.string"
    %a3 = irdl.base "#builtin.string"
    %a4 = irdl.base "#builtin.array"
    irdl.attributes {"data" = %a2, "dtype" = %a3, "shape" = %a4}
  }
  // A folded Reshape/Flatten/Squeeze/Identity, or a contiguous slice at `byte_offset`: the operand's bytes.
  irdl.operation @view {
    %t1 = irdl.any
    irdl.operands(source: %t1)
    %t2 = irdl.any
    irdl.results(value: %t2)
    %a3 = irdl.base "#builtin.string"
    %a4 = irdl.base "#builtin.string"
    irdl.attributes {"node" = %a3, "op" = %a4}
  }
  // An accelerator step: int8 [m, k] x int8 [k, n] -> int32 [m, n] (`accel.program`: its driver program).
  irdl.operation @matmul {
    %t1 = irdl.any
    %t2 = irdl.any
    irdl.operands(a: %t1, b: %t2)
    %t3 = irdl.any
    irdl.results(c: %t3)
    %a4 = irdl.base "#builtin.string"
    %a5 = irdl.base "#builtin.string"
    %a6 = irdl.base "#builtin.integer"
    %a7 = irdl.base "#builtin.integer"
    %a8 = irdl.base "#builtin.integer"
    irdl.attributes {"node" = %a4, "op" = %a5, "m" = %a6, "n" = %a7, "k" = %a8}
  }
  // A CPU step: host operation `op` (accel.contract.hostops) with `attrs`, for ONNX node `node`.
  irdl.operation @host {
    %t1 = irdl.any
    irdl.operands(inputs: variadic %t1)
    %t2 = irdl.any
    irdl.results(outputs: variadic %t2)
    %a3 = irdl.base "#builtin.string"
    %a4 = irdl.base "#builtin.string"
    %a5 = irdl.base "#builtin.dictionary"
    irdl.attributes {"node" = %a3, "op" = %a4, "attrs" = %a5}
  }
}
