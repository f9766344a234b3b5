"""The box's own sentences (not configured by the owner), in every language it speaks.

API:
    PHRASES[key][language] -> text (may contain {placeholders})
    phrase(key, language, **values) -> str

Owners configure what callers hear in menus; these are the fixed parts around them:
mailbox access, the transfer whisper, defaults for prompts a node leaves empty.
"""

from __future__ import annotations

from firmware.errors import UsageError

PHRASES: dict[str, dict[str, str]] = {
    "invalid": {
        "en": "Sorry, that is not a valid choice.",
        "zh-TW": "抱歉，您的選擇無效。",
    },
    "timeout": {
        "en": "Sorry, I did not hear your choice.",
        "zh-TW": "抱歉，沒有收到您的選擇。",
    },
    "goodbye": {
        "en": "Thank you for calling. Goodbye.",
        "zh-TW": "謝謝您的來電，再見。",
    },
    "call_too_long": {
        "en": "We have to end this call now. Please call again. Goodbye.",
        "zh-TW": "通話時間已到，請再來電。再見。",
    },
    "more_time": {
        "en": "Take your time.",
        "zh-TW": "請慢慢來。",
    },
    "connecting": {
        "en": "Please hold while I connect your call.",
        "zh-TW": "請稍候，正在為您轉接。",
    },
    "still_trying": {
        "en": "Still trying, please hold.",
        "zh-TW": "仍在為您轉接，請稍候。",
    },
    "not_reached": {
        "en": "Sorry, nobody could take your call.",
        "zh-TW": "抱歉，目前無人可以接聽。",
    },
    "whisper": {
        "en": "Call from the office line. Press {key} to accept.",
        "zh-TW": "公司電話轉接來電，接聽請按 {key}。",
    },
    "unavailable_greeting": {
        "en": "{name} is not available. Please leave a message after the tone. Press pound when you are done.",
        "zh-TW": "{name}目前無法接聽，請在嗶聲後留言，留言完畢請按井字鍵。",
    },
    "busy_greeting": {
        "en": "{name} is on another call. Please leave a message after the tone. Press pound when you are done.",
        "zh-TW": "{name}正在通話中，請在嗶聲後留言，留言完畢請按井字鍵。",
    },
    "message_saved": {
        "en": "Your message has been saved. Thank you.",
        "zh-TW": "您的留言已儲存，謝謝。",
    },
    "cannot_record": {
        "en": "Sorry, messages cannot be recorded right now.",
        "zh-TW": "抱歉，目前無法錄製留言。",
    },
    "enter_mailbox": {
        "en": "Please enter your mailbox number, then press pound.",
        "zh-TW": "請輸入您的信箱號碼，再按井字鍵。",
    },
    "enter_pin": {
        "en": "Please enter your PIN, then press pound.",
        "zh-TW": "請輸入您的密碼，再按井字鍵。",
    },
    "wrong_pin": {
        "en": "That PIN is not correct.",
        "zh-TW": "密碼錯誤。",
    },
    "locked": {
        "en": "This mailbox is locked after too many wrong PINs. Please try again later.",
        "zh-TW": "密碼錯誤次數過多，信箱已暫時鎖定，請稍後再試。",
    },
    "mailbox_menu": {
        "en": "To hear your messages, press 1. For your greetings, press 3. "
              "To close the office until your opening hours next change, press 7. "
              "To open it until then, press 8. To follow your opening hours again, press 9. "
              "To hang up, press star.",
        "zh-TW": "聽取留言請按 1。設定問候語請按 3。暫停營業到營業時間下次變更請按 7，"
                 "開始營業到營業時間下次變更請按 8，恢復依營業時間運作請按 9。結束請按星號。",
    },
    "greetings_menu": {
        "en": "To record your greeting for when nobody can answer, press 1. "
              "For when you are on another call, press 2. To record a temporary greeting, "
              "which plays instead of both until you turn it off, press 3. To go back, press star.",
        "zh-TW": "錄製無人接聽時的問候語請按 1，錄製忙線時的問候語請按 2。"
                 "錄製暫時問候語請按 3，暫時問候語會取代前兩者，直到您關閉為止。回上一層請按星號。",
    },
    "temporary_greeting_on": {
        "en": "Your temporary greeting is on. To turn it off, press 4.",
        "zh-TW": "您的暫時問候語目前開啟中，關閉請按 4。",
    },
    "temporary_greeting_off": {
        "en": "Your temporary greeting is off.",
        "zh-TW": "暫時問候語已關閉。",
    },
    "message_menu": {
        "en": "To hear it again, press 1. To keep it, press 2. To delete it, press 3. "
              "For the next message, press pound.",
        "zh-TW": "重聽請按 1。保留請按 2。刪除請按 3。下一則請按井字鍵。",
    },
    "no_more_messages": {
        "en": "No more messages.",
        "zh-TW": "沒有其他留言了。",
    },
    "message_deleted": {
        "en": "Message deleted.",
        "zh-TW": "留言已刪除。",
    },
    "message_kept": {
        "en": "Message saved.",
        "zh-TW": "留言已保留。",
    },
    "record_greeting": {
        "en": "Record your greeting after the tone, then press pound.",
        "zh-TW": "請在嗶聲後錄製問候語，完成請按井字鍵。",
    },
    "greeting_saved": {
        "en": "Your greeting has been saved.",
        "zh-TW": "問候語已儲存。",
    },
    "greeting_review": {
        "en": "This is your new greeting.",
        "zh-TW": "以下是您的新問候語。",
    },
    "greeting_confirm": {
        "en": "To keep it, press 1. To record it again, press 2. To cancel, press star.",
        "zh-TW": "保留請按 1，重錄請按 2，取消請按星號。",
    },
    "greeting_too_short": {
        "en": "Sorry, that greeting was too short.",
        "zh-TW": "抱歉，問候語太短。",
    },
    "greeting_cancelled": {
        "en": "Your greeting was not changed.",
        "zh-TW": "問候語未變更。",
    },
    "error_goodbye": {
        "en": "Sorry, something went wrong on our side. Please call again later. Goodbye.",
        "zh-TW": "抱歉，系統發生問題，請稍後再來電。再見。",
    },
    "override_closed": {
        "en": "The office is now closed until your opening hours next change.",
        "zh-TW": "已暫停營業，直到營業時間下次變更。",
    },
    "override_open": {
        "en": "The office is now open until your opening hours next change.",
        "zh-TW": "已開始營業，直到營業時間下次變更。",
    },
    "override_closed_held": {
        "en": "The office is now closed until you switch it back.",
        "zh-TW": "已暫停營業，直到您切換回來。",
    },
    "override_open_held": {
        "en": "The office is now open until you switch it back.",
        "zh-TW": "已開始營業，直到您切換回來。",
    },
    "override_auto": {
        "en": "The office now follows its opening hours.",
        "zh-TW": "已恢復依營業時間運作。",
    },
    "callback_number_is": {
        "en": "We will call you back at",
        "zh-TW": "我們將回電至",
    },
    "callback_confirm": {
        "en": "To confirm, press {confirm}. To enter another number, press {other}.",
        "zh-TW": "確認請按 {confirm}，輸入其他號碼請按 {other}。",
    },
    "callback_confirm_only": {
        "en": "To confirm, press {confirm}.",
        "zh-TW": "確認請按 {confirm}。",
    },
    "callback_enter": {
        "en": "Please enter your phone number, then press pound.",
        "zh-TW": "請輸入您的電話號碼，再按井字鍵。",
    },
    "callback_no_number": {
        "en": "Sorry, your number did not come with this call, so we cannot arrange a call back.",
        "zh-TW": "抱歉，這通來電沒有顯示您的號碼，因此無法為您安排回電。",
    },
    "callback_thanks": {
        "en": "Thank you. We will call you back as soon as we can.",
        "zh-TW": "謝謝，我們會盡快回電給您。",
    },
    "survey_thanks": {
        "en": "Thank you for your feedback.",
        "zh-TW": "謝謝您的寶貴意見。",
    },
}


def phrase(key: str, language: str, /, **values: object) -> str:
    """Positional-only, so a sentence may have a {key} or {language} placeholder."""
    try:
        texts = PHRASES[key]
    except KeyError:
        raise UsageError(f"no built-in phrase '{key}'") from None
    text = texts.get(language) or texts["en"]
    return text.format(**values) if values else text
