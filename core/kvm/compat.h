#pragma once
// kvmscope's one way to include the KVM UAPI (<linux/kvm.h>): C++ code includes this header, never
// <linux/kvm.h> directly. It repairs two things in Debian 12's 6.1 UAPI headers:
//
// 1. __DECLARE_FLEX_ARRAY (<linux/stddef.h>) wraps a flexible array in a struct whose first member
//    is an empty struct. An empty struct has size 0 in C but 1 in C++, so in C++ the array moves:
//    offsetof(kvm_cpuid2, entries) is 12 instead of 8, and every ioctl number that encodes the
//    struct's size changes (KVM_GET_SUPPORTED_CPUID becomes 0xc00cae05, which the kernel rejects
//    with EINVAL). Later kernels fixed the macro for C++; here it is redefined to the plain
//    flexible array member before <linux/kvm.h> is read, and the static_asserts below catch a
//    translation unit that included <linux/kvm.h> first.
// 2. Constants the running kernel knows but the 6.1 headers lack, each defined only when the
//    system header does not, with the value from the KVM API doc.
#include <linux/stddef.h>
#ifdef __cplusplus
#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[]
#endif
#include <cstddef>
#include <linux/kvm.h>

static_assert(offsetof(kvm_cpuid2, entries) == 8 && offsetof(kvm_msrs, entries) == 8 &&
                  offsetof(kvm_msr_list, indices) == 4,
              "<linux/kvm.h> was included before kvm/compat.h: the C++ flexible-array layout "
              "differs from the kernel's");
static_assert(KVM_GET_SUPPORTED_CPUID == 0xc008ae05 && KVM_SET_CPUID2 == 0x4008ae90 &&
                  KVM_GET_MSRS == 0xc008ae88 && KVM_SET_MSRS == 0x4008ae89 &&
                  KVM_GET_MSR_INDEX_LIST == 0xc004ae02,
              "KVM ioctl numbers differ from the kernel's (see the comment above)");

// Documentation/virt/kvm/devices/vfio.rst: the group was renamed KVM_DEV_VFIO_FILE in 6.5 and
// keeps number 1; ADD/DEL take a VFIO file (group or device cdev) descriptor.
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE 1
#define KVM_DEV_VFIO_FILE_ADD 1
#define KVM_DEV_VFIO_FILE_DEL 2
#endif

// Documentation/virt/kvm/api.rst 4.x "KVM_GET_DEVICE_ATTR (system)": x86 system attributes.
#ifndef KVM_X86_GRP_SYSTEM
#define KVM_X86_GRP_SYSTEM 0
#endif
#ifndef KVM_X86_XCOMP_GUEST_SUPP
#define KVM_X86_XCOMP_GUEST_SUPP 0
#endif

// Documentation/virt/kvm/devices/vcpu.rst "3. GROUP: KVM_VCPU_TSC_CTRL" (x86, since 5.16).
#ifndef KVM_VCPU_TSC_CTRL
#define KVM_VCPU_TSC_CTRL 0
#define KVM_VCPU_TSC_OFFSET 0
#endif
