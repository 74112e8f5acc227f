//! Word- and byte-level loops compiled three times (AVX-512 with VPOPCNTDQ, AVX2, and the
//! portable baseline) and chosen once at run time, so one binary is fast on the machine it runs
//! on without `-C target-cpu=native`. Each loop is a plain Rust loop that LLVM vectorizes; the
//! only `unsafe` is the call into a `#[target_feature]` copy after the CPU was checked to have
//! the feature.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline,
    Avx2,
    Avx512,
}

/// The instruction-set level the kernels use on this machine.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    if std::env::var_os("TESSERA_NO_SIMD").is_some() {
        return Level::Baseline;
    }
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vpopcntdq")
        && is_x86_feature_detected!("popcnt")
    {
        Level::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt") {
        Level::Avx2
    } else {
        Level::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Baseline
}

#[macro_export]
#[doc(hidden)]
macro_rules! kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn inner($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
                fn v512($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                #[target_feature(enable = "avx2,popcnt")]
                fn v256($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                match $crate::simd::level() {
                    // SAFETY: `level()` returned this level only after `is_x86_feature_detected!`
                    // confirmed every feature the copy is compiled with.
                    $crate::simd::Level::Avx512 => return unsafe { v512($($arg),*) },
                    // SAFETY: as above, AVX2 and POPCNT were detected.
                    $crate::simd::Level::Avx2 => return unsafe { v256($($arg),*) },
                    $crate::simd::Level::Baseline => {}
                }
            }
            inner($($arg),*)
        }
    };
}

crate::kernel! {
    /// `out[i] = a[i] ^ b[i]`.
    pub fn xor(a: &[u64], b: &[u64], out: &mut [u64]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x ^ y;
        }
    }
}

crate::kernel! {
    /// Number of differing bits.
    pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
        let mut n = 0u64;
        for (x, y) in a.iter().zip(b) {
            n += u64::from((x ^ y).count_ones());
        }
        n as u32
    }
}

crate::kernel! {
    /// Hamming distances of `q` to `rows` consecutive rows of `words` words each in `book`.
    pub fn hamming_rows(q: &[u64], book: &[u64], words: usize, out: &mut [u32]) {
        for (o, row) in out.iter_mut().zip(book.chunks_exact(words)) {
            let mut n = 0u64;
            for (x, y) in q.iter().zip(row) {
                n += u64::from((x ^ y).count_ones());
            }
            *o = n as u32;
        }
    }
}

crate::kernel! {
    /// Hamming distances of four queries to each row (one pass over the codebook serves four
    /// queries): `out[r * 4 + j]` is query `j` against row `r`.
    pub fn hamming_rows4(q: [&[u64]; 4], book: &[u64], words: usize, out: &mut [u32]) {
        for (o, row) in out.chunks_exact_mut(4).zip(book.chunks_exact(words)) {
            let (mut n0, mut n1, mut n2, mut n3) = (0u64, 0u64, 0u64, 0u64);
            for (i, y) in row.iter().enumerate() {
                n0 += u64::from((q[0][i] ^ y).count_ones());
                n1 += u64::from((q[1][i] ^ y).count_ones());
                n2 += u64::from((q[2][i] ^ y).count_ones());
                n3 += u64::from((q[3][i] ^ y).count_ones());
            }
            o[0] = n0 as u32;
            o[1] = n1 as u32;
            o[2] = n2 as u32;
            o[3] = n3 as u32;
        }
    }
}

crate::kernel! {
    /// `out[i] = a[i] * b[i]` on bipolar bytes (every value ±1): `(a ^ b) | 1` is the product
    /// bit for bit (0x01·0x01, 0xFF·0xFF → 0x01; mixed → 0xFF), and unlike a byte multiply,
    /// which x86 lacks, it is one vector instruction per 64 components.
    pub fn mul_i8(a: &[i8], b: &[i8], out: &mut [i8]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = (x ^ y) | 1;
        }
    }
}

crate::kernel! {
    /// Dot product of byte vectors, accumulated in i32.
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let mut n = 0i32;
        for (x, y) in a.iter().zip(b) {
            n += i32::from(*x) * i32::from(*y);
        }
        n
    }
}

crate::kernel! {
    /// `acc[i] += w * x[i]` (resonator and bundle accumulation).
    pub fn axpy_i8(w: i32, x: &[i8], acc: &mut [i32]) {
        for (a, v) in acc.iter_mut().zip(x) {
            *a += w * i32::from(*v);
        }
    }
}

crate::kernel! {
    /// The sign of each accumulator as ±1, with `tie` where it is 0.
    pub fn sign_i32(acc: &[i32], tie: &[i8], out: &mut [i8]) {
        for ((o, &a), &t) in out.iter_mut().zip(acc).zip(tie) {
            *o = if a > 0 { 1 } else if a < 0 { -1 } else { t };
        }
    }
}

crate::kernel! {
    /// `acc[i] += x[i]` for bipolar bytes.
    pub fn add_i8(x: &[i8], acc: &mut [i32]) {
        for (a, v) in acc.iter_mut().zip(x) {
            *a += i32::from(*v);
        }
    }
}

crate::kernel! {
    /// Dot product of f32 vectors (accumulated in f32 lanes, summed in f64 at the end).
    pub fn dot_f32(a: &[f32], b: &[f32]) -> f64 {
        let mut lanes = [0f32; 16];
        let mut ca = a.chunks_exact(16);
        let mut cb = b.chunks_exact(16);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for k in 0..16 {
                lanes[k] += x[k] * y[k];
            }
        }
        let mut s: f64 = lanes.iter().map(|&v| f64::from(v)).sum();
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s += f64::from(*x) * f64::from(*y);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree_with_scalar_definitions() {
        let a: Vec<u64> = (0..37u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let b: Vec<u64> = (0..37u64)
            .map(|i| (i + 5).wrapping_mul(0xbf58_476d_1ce4_e5b9))
            .collect();
        let mut o = vec![0; 37];
        xor(&a, &b, &mut o);
        let want: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        assert_eq!(hamming(&a, &b), want);
        assert_eq!(o.iter().map(|w| w.count_ones()).sum::<u32>(), want);
        let mut rows = vec![0; 1];
        hamming_rows(&a, &b, 37, &mut rows);
        assert_eq!(rows[0], want);
        let mut four = vec![0; 4];
        hamming_rows4([&a, &b, &a, &o], &b, 37, &mut four);
        assert_eq!(
            four,
            vec![want, 0, want, a.iter().map(|w| w.count_ones()).sum::<u32>()]
        );
        let x: Vec<i8> = (0..100).map(|i| if i % 3 == 0 { -1 } else { 1 }).collect();
        let y: Vec<i8> = (0..100).map(|i| if i % 5 == 0 { -1 } else { 1 }).collect();
        let mut z = vec![0; 100];
        mul_i8(&x, &y, &mut z);
        assert_eq!(dot_i8(&z, &z), 100);
        assert_eq!(
            dot_i8(&x, &y),
            x.iter().zip(&y).map(|(a, b)| i32::from(a * b)).sum::<i32>()
        );
        let mut acc = vec![0; 100];
        axpy_i8(3, &x, &mut acc);
        add_i8(&x, &mut acc);
        assert_eq!(acc[0], -4);
        assert_eq!(acc[1], 4);
        let f: Vec<f32> = (0..35).map(|i| i as f32).collect();
        assert_eq!(
            dot_f32(&f, &f),
            (0..35).map(|i| f64::from(i * i)).sum::<f64>()
        );
    }
}
